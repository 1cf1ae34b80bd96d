"""SIGKILL a real training process at many moments; the runs folder must stay usable.

Kill points are read from the process's own output: the CLI's status lines, and the phase
markers that tests/kill_target.py prints around each step, evaluation and file write. A few
points pause the process at an exact spot (between the two renames of a folder replacement)
and two are plain sleeps of ``python -m lorasent_tui``. Run with ``pytest -s`` to see the
per-point table.

One point per distinct moment: each phase (startup, data, mid-epoch without and with a
checkpoint, evaluation) and each crash-safe write mechanism (the run folder's creation, a
staged folder replaced whole: the adapter and the checkpoint, at each of its renames and the
removal of the previous copy; a file replaced whole: metrics, status). Points that only hit
the same code at another epoch or step cost a training process each and prove nothing more.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lorasent_tui.core.checkpoint import checkpoint_state
from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.fsutil import resolve_dir
from lorasent_tui.core.store import Run, RunStore

TARGET = str(Path(__file__).with_name("kill_target.py"))
# Two epochs of 4 steps: the second replaces the first's checkpoint, which is all the
# replacement windows need.
TRAIN_ARGS = ["train", "--train-size", "16", "--eval-size", "16", "--epochs", "2",
              "--max-length", "32", "--batch-size", "4", "--device", "cpu"]
EPOCHS = 2
WAIT_S = 90


@dataclass
class KillPoint:
    name: str
    phase: str  # what the kill is aimed at: startup, data, mid-epoch, eval, writing, finished
    trigger: str | None = None  # regex on a stderr line; None: kill after `delay` seconds
    nth: int = 1  # kill on the nth matching line
    delay: float = 0.0  # seconds between the trigger and the kill
    pause: str | None = None  # LORASENT_KILL_PAUSE for kill_target.py
    plain: bool = False  # run `python -m lorasent_tui` (no markers) instead of kill_target.py
    resume: bool = False  # afterwards, resume in-process and compare with an uninterrupted run
    then: "KillPoint | None" = None  # afterwards, a resumed process killed at this point


def _pause(spec: str) -> KillPoint:
    return KillPoint(name=f"pause {spec}", phase="", trigger=r"^@@ paused", pause=spec)


def kill_points() -> list[KillPoint]:
    rng = random.Random(20240607)
    points = [
        KillPoint("0.3 s after start", "startup", plain=True, delay=0.3),
        KillPoint("inside RunStore.create", "startup", **_kw(_pause("replace:^\\.metrics"))),
        KillPoint("[loading model] line", "data", trigger=r"^\[loading model"),
        KillPoint("paused after step 3", "mid-epoch", **_kw(_pause("step:^3 ")), resume=True),
        KillPoint("after step 6", "mid-epoch", trigger=r"^@@ step 6 "),
        KillPoint("paused at eval 2", "eval", **_kw(_pause("eval:^2$")), resume=True),
        KillPoint("paused before adapter rename", "writing", **_kw(_pause("replace:-> adapter$"))),
        KillPoint("metrics write, epoch 1", "writing", trigger=r"^@@ metrics 1$"),
        KillPoint("checkpoint weights, epoch 1", "writing", trigger=r"^@@ save_file trainable"),
        KillPoint("paused between checkpoint renames, epoch 2", "writing",
                  **_kw(_pause("replace:-> checkpoint$#2")),
                  then=KillPoint("resumed: paused at its first checkpoint rename", "writing",
                                 **_kw(_pause("replace:-> checkpoint$")), resume=True)),
        KillPoint("paused deleting checkpoint.old, epoch 2", "writing",
                  **_kw(_pause("rmtree:^checkpoint\\.old$"))),
        KillPoint("final status write", "finished", trigger=r"^@@ status state=completed",
                  resume=True),
    ]
    # The real command in a fresh interpreter, killed after a random sleep in its ~1 s of training.
    delay = round(rng.uniform(0.0, 1.0), 2)
    points.append(KillPoint(f"plain: {delay} s after [training]", "random", plain=True,
                            trigger=r"^\[training\]", delay=delay))
    return points


def _kw(point: KillPoint) -> dict:
    return {"trigger": point.trigger, "pause": point.pause}


@dataclass
class Outcome:
    point: KillPoint
    last_line: str = ""
    state: str = "-"
    metrics_epochs: int = 0
    checkpoint_epoch: int = 0
    debris: list = field(default_factory=list)
    resumed: str = ""
    seconds: float = 0.0


def _reader(stream, lines: "queue.Queue[str | None]") -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


class Zygote:
    """tests/kill_target.py --zygote: forks CLI processes with the imports already done.

    A forked child is a process of its own (its own signal handlers, killed alone), so the
    tests that kill or interrupt the CLI use it instead of paying the imports per process.
    """

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, TARGET, "--zygote"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(self.proc.stdout, self.replies), daemon=True).start()
        self.fifos = Path(tempfile.mkdtemp(prefix="zygote-"))
        assert "ready" in self._reply(WAIT_S)

    def _reply(self, timeout: float) -> dict:
        line = self.replies.get(timeout=timeout)
        assert line is not None, "the zygote ended"
        return json.loads(line)

    def start(self, argv: list[str], env: dict | None = None,
              stdout: Path | None = None) -> tuple[int, "queue.Queue[str | None]"]:
        """Fork a child running ``cli.main(argv)``: its pid and a queue of its stderr lines."""
        fifo = self.fifos / f"{time.monotonic_ns()}.fifo"
        os.mkfifo(fifo)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_fifo_reader, args=(fifo, lines), daemon=True).start()
        request = {"argv": argv, "env": env or {}, "stderr": str(fifo)}
        if stdout is not None:
            request["stdout"] = str(stdout)
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._reply(WAIT_S)["pid"], lines

    def wait(self, pid: int, timeout: float = 30) -> int:
        """The child's exit status (as ``Popen.returncode`` gives it), once it has been reaped.

        Past the timeout the child is killed and the wait fails."""
        try:
            answer = self._reply(timeout)
        except queue.Empty:
            os.kill(pid, signal.SIGKILL)
            self._reply(WAIT_S)
            raise AssertionError(f"process {pid} still running after {timeout} s") from None
        assert answer["exit"] == pid, answer
        return os.waitstatus_to_exitcode(answer["status"])

    def kill(self, pid: int) -> None:
        """SIGKILL the child, if it still runs, and wait until it has been reaped."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.wait(pid)

    def close(self) -> None:
        self.proc.kill()  # its children are reaped; a clean interpreter exit only costs time
        self.proc.wait(timeout=30)
        self.proc.stdin.close()
        shutil.rmtree(self.fifos, ignore_errors=True)


def _fifo_reader(fifo: Path, lines: "queue.Queue[str | None]") -> None:
    with open(fifo, encoding="utf-8", errors="replace") as stream:
        _reader(stream, lines)


def run_and_kill(point: KillPoint, model_dir: Path, runs: Path, zygote: Zygote,
                 resume_id: str | None = None) -> str:
    """Start a training process, SIGKILL it at the point; the last stderr line before the kill."""
    args = TRAIN_ARGS + ["--model", str(model_dir), "--runs-dir", str(runs)]
    if resume_id:  # a resumed run keeps its own settings; no training flag may be given
        args = ["train", "--runs-dir", str(runs), "--resume", resume_id]
    env = {"LORASENT_KILL_PAUSE": point.pause} if point.pause else {}
    if point.plain:  # the real thing: a fresh interpreter, no markers
        proc = subprocess.Popen([sys.executable, "-m", "lorasent_tui", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stderr, lines), daemon=True).start()
        pid = proc.pid
    else:
        pid, lines = zygote.start(args, env)
    last, seen, deadline = "", 0, time.monotonic() + WAIT_S
    ended = False
    try:
        if point.trigger is None:
            time.sleep(point.delay)
        else:
            pattern = re.compile(point.trigger)
            while True:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                if line is None:
                    ended = True
                    raise AssertionError(f"{point.name}: process ended before its trigger; last: {last}")
                last = line
                if pattern.search(line):
                    seen += 1
                    if seen == point.nth:
                        break
            time.sleep(point.delay)
    finally:
        # Reaped, so that its pid is dead for effective_state().
        if point.plain:
            proc.kill()
            proc.wait(timeout=30)
        else:
            zygote.kill(pid)
    while not ended:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            break
        if line is None:
            break
        last = line
    return last


def check_folder(runs: Path) -> tuple[str, int, int, list, str | None]:
    """Every invariant a kill must not break; (state, metrics epochs, checkpoint epoch, debris, id)."""
    summaries = RunStore(runs).list()
    if not summaries:
        return "no run", 0, 0, [], None
    (summary,) = summaries
    assert summary.state in ("interrupted", "completed"), (summary.state, summary.problem)
    assert summary.problem is None
    run = Run(summary.path)
    for path in run.path.rglob("*.json"):
        if not any(part.startswith(".") for part in path.relative_to(run.path).parts):
            json.loads(path.read_text(encoding="utf-8"))
    text = (run.path / "metrics.jsonl").read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n")
    rows = run.metrics()
    epochs = [row["epoch"] for row in rows]
    m = len(rows)
    assert epochs == list(range(1, m + 1))
    for row in rows:
        assert {"train_loss", "eval_loss", "accuracy", "f1", "roc_auc"} <= set(row)
    roc_epochs = sorted(int(k) for k in run.roc())
    assert roc_epochs in (epochs, epochs[:-1])
    # _record_epoch writes: adapter (if best), metrics, roc, checkpoint, status. So the
    # checkpoint is the last metrics epoch or the one before, and status trails the checkpoint.
    state = checkpoint_state(run.checkpoint_dir)
    c = 0 if state is None else state["epoch"]
    assert m - 1 <= c <= m, (c, m)
    status = run.status()
    assert c - 1 <= status["epochs_done"] <= c, (status["epochs_done"], c)
    if status.get("best_epoch") is not None:
        assert status["best_epoch"] <= c
    if c:
        folder = resolve_dir(run.checkpoint_dir)
        for name in ("trainable.safetensors", "optimizer.safetensors", "rng.safetensors", "COMPLETE"):
            assert (folder / name).is_file(), name
        _check_safetensors(folder / "trainable.safetensors")
    adapter = run.complete_adapter_dir()
    if m:
        assert adapter is not None, "metrics without an adapter"
    if adapter is not None:
        assert (adapter / "adapter_config.json").is_file()
        _check_safetensors(adapter / "adapter_model.safetensors")
    if summary.state == "completed":
        assert m == EPOCHS and c == EPOCHS
    events = run.path / "events.jsonl"  # appended, not replaced: only its last line may be torn
    if events.exists():
        for line in events.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.endswith("\n"):
                json.loads(line)
    staging = [p for p in run.path.iterdir() if p.name.startswith(".checkpoint-")]
    assert len(staging) <= 1, "stale checkpoint staging folders pile up"
    debris = sorted(re.sub(r"^(\.[a-z]+(\.[a-z]+)?)[-.].*", r"\1*", p.name) for p in run.path.iterdir()
                    if p.name.startswith(".") or p.name.endswith(".old"))
    return summary.state, m, c, debris, summary.run_id


def _check_safetensors(path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        assert list(handle.keys())


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, tmp_path_factory):
    """The metrics of the same config trained without a kill (in this process)."""
    from lorasent_tui.cli import build_parser
    from lorasent_tui.core.configfile import resolve_config
    from lorasent_tui.core.trainer import train

    model = tiny_model_dir("bert")
    args = build_parser().parse_args(TRAIN_ARGS + ["--model", str(model)])
    config = resolve_config(args.config, args.preset, vars(args))
    runs = tmp_path_factory.mktemp("uninterrupted")
    result = train(config, runs_dir=runs)
    assert result.state == "completed", result
    return RunStore(runs).get(result.run_id).metrics()


def resume_and_compare(runs: Path, run_id: str, expected: list) -> str:
    from lorasent_tui.core.trainer import train
    from tests.test_resume import assert_same_rows

    result = train(TrainConfig(), runs_dir=runs, resume=run_id)
    assert result.state == "completed", result
    assert_same_rows(RunStore(runs).get(run_id).metrics(), expected)
    return "resumed, same metrics"


def _attempt(point, model, runs, expected, zygote, resume_id=None) -> list[Outcome]:
    started = time.monotonic()
    outcome = Outcome(point)
    outcome.last_line = run_and_kill(point, model, runs, zygote, resume_id)
    outcome.state, outcome.metrics_epochs, outcome.checkpoint_epoch, outcome.debris, run_id = \
        check_folder(runs)
    outcome.seconds = time.monotonic() - started
    if point.then is not None:
        assert run_id is not None and outcome.state == "interrupted"
        return [outcome] + _attempt(point.then, model, runs, expected, zygote, resume_id=run_id)
    if point.resume and run_id is not None and outcome.state != "completed":
        started = time.monotonic()
        outcome.resumed = resume_and_compare(runs, run_id, expected)
        outcome.seconds += time.monotonic() - started
    return [outcome]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_sigkill_at_many_moments_leaves_a_usable_run(tiny_model_dir, uninterrupted, zygote, tmp_path):
    model = tiny_model_dir("bert")
    outcomes: list[Outcome] = []
    failures = []
    started = time.monotonic()
    only = os.environ.get("LORASENT_KILL_ONLY")  # a substring of point names, for debugging
    points = kill_points()
    for index, point in enumerate(points):
        if only and only not in point.name:
            continue
        runs = tmp_path / f"k{index:02d}"
        try:
            outcomes += _attempt(point, model, runs, uninterrupted, zygote)
        except Exception as exc:  # noqa: BLE001 - collect all, report together
            failures.append(f"{point.name}: {type(exc).__name__}: {exc}")
    total = time.monotonic() - started
    print(f"\n{'kill point':<48} {'aimed at':<9} {'last line before kill':<36} "
          f"{'state':<11} {'m':>1} {'c':>1}  debris / resume")
    for o in outcomes:
        print(f"{o.point.name[:48]:<48} {o.point.phase or '-':<9} {o.last_line[:36]:<36} "
              f"{o.state:<11} {o.metrics_epochs:>1} {o.checkpoint_epoch:>1}  "
              f"{','.join(o.debris) or '-'} {o.resumed}  ({o.seconds:.1f}s)")
    states = {}
    for o in outcomes:
        states[o.state] = states.get(o.state, 0) + 1
    print(f"{len(outcomes)} kills in {total:.0f}s; states {states}; "
          f"resumed {sum(1 for o in outcomes if o.resumed)}; failures {len(failures)}")
    assert not failures, "\n".join(failures)
    assert only or len(outcomes) == len(points) + sum(p.then is not None for p in points)


def _start(zygote: Zygote, model: Path, runs: Path, stdout: Path,
           pause: str | None = None) -> tuple[int, queue.Queue]:
    env = {"LORASENT_KILL_PAUSE": pause} if pause else {}
    return zygote.start(TRAIN_ARGS + ["--model", str(model), "--runs-dir", str(runs)], env, stdout)


def wait_for(lines: queue.Queue, pattern: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, f"process ended before {pattern!r}"
        if re.search(pattern, line):
            return


@pytest.mark.slow
def test_one_ctrl_c_stops_at_the_next_step_and_keeps_finished_epochs(tiny_model_dir, zygote, tmp_path):
    stdout = tmp_path / "stdout.txt"
    runs = tmp_path / "runs"
    pid, lines = _start(zygote, tiny_model_dir("bert"), runs, stdout)
    wait_for(lines, r"^@@ step 6 ")  # in epoch 2
    sent = time.monotonic()
    os.kill(pid, signal.SIGINT)
    returncode = zygote.wait(pid, timeout=15)
    took = time.monotonic() - sent
    out = stdout.read_text(encoding="utf-8")
    assert returncode == 130, out
    assert took < 5, took
    assert "(stopped, best epoch 1)" in out
    (summary,) = RunStore(runs).list()
    assert summary.state == "stopped" and summary.epochs_done == 1
    run = Run(summary.path)
    assert [r["epoch"] for r in run.metrics()] == [1]
    assert checkpoint_state(run.checkpoint_dir)["epoch"] == 1
    assert run.status()["finished_at"]


@pytest.mark.slow
def test_second_ctrl_c_exits_at_once_even_when_busy(tiny_model_dir, zygote, tmp_path):
    # Paused inside evaluation of epoch 2, as a long evaluation would be: the first Ctrl+C
    # only asks for a stop, the second must end the process without waiting for the loop.
    runs = tmp_path / "runs"
    pid, lines = _start(zygote, tiny_model_dir("bert"), runs, tmp_path / "stdout.txt", pause="eval:^2$")
    wait_for(lines, r"^@@ paused")
    os.kill(pid, signal.SIGINT)
    wait_for(lines, r"stopping at the next step")
    assert zygote.replies.empty()  # the child has not ended
    sent = time.monotonic()
    os.kill(pid, signal.SIGINT)
    returncode = zygote.wait(pid, timeout=10)
    took = time.monotonic() - sent
    assert returncode == 130
    assert took < 2, took
    state, m, c, _debris, _ = check_folder(runs)
    assert (state, m, c) == ("interrupted", 1, 1)


# -- the crash windows above, without processes (fast) ---------------------------------------


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def test_folder_replacement_after_a_crash_between_its_renames(tmp_path, monkeypatch):
    from lorasent_tui.core import fsutil

    target, old = tmp_path / "checkpoint", tmp_path / "checkpoint.old"
    old.mkdir()  # a crash between the renames left only the previous copy, as <target>.old
    (old / "v").write_text("1")
    staging = tmp_path / ".checkpoint-new"
    staging.mkdir()
    (staging / "v").write_text("2")
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == target:  # the next save crashes again, just before its last rename
            raise Crash
        return real_replace(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", replace)
    with pytest.raises(Crash):
        fsutil.atomic_replace_dir(staging, target)
    assert (resolve_dir(target) / "v").read_text() == "1"  # a complete copy survived
    monkeypatch.setattr(fsutil.os, "replace", real_replace)
    fsutil.atomic_replace_dir(staging, target)
    assert (resolve_dir(target) / "v").read_text() == "2" and not old.exists()


def test_a_crash_inside_run_creation_leaves_no_damaged_run(tmp_path, monkeypatch):
    from lorasent_tui.core import store

    real = store.atomic_write_json

    def write(path, data):
        if Path(path).name == "status.json":
            raise Crash
        return real(path, data)

    monkeypatch.setattr(store, "atomic_write_json", write)
    with pytest.raises(Crash):
        RunStore(tmp_path).create(TrainConfig(), run_id="r")
    assert RunStore(tmp_path).list() == []
    monkeypatch.setattr(store, "atomic_write_json", real)
    RunStore(tmp_path).create(TrainConfig(), run_id="r")
    assert [s.state for s in RunStore(tmp_path).list()] == ["running"]
