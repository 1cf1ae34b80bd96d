"""Run training in a torchrun subprocess and follow it through the run folder's events.

Same signature and callbacks as ``trainer.train``, so the TUI can start a multi-GPU run and
watch it live exactly like an in-process one; Stop writes the run's STOP file, which every
rank sees at its next step.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.eventlog import dispatch, follow
from lorasent_tui.core.events import RunFailed, RunFinished, TrainCallbacks
from lorasent_tui.core.store import Run, RunStore

ERROR_PREFIX = "lorasent-tui: error:"  # how the CLI (rank 0 of the job) reports a user error


def torchrun_command(config_file: Path, runs_dir: Path, run_id: str, nproc: int,
                     resume: str | None = None, epochs: int | None = None) -> list[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", "-m", "lorasent_tui", "train", "--quiet",
               "--runs-dir", str(runs_dir)]
    if resume:
        return command + ["--resume", resume] + ([] if epochs is None else ["--epochs", str(epochs)])
    return command + ["--config", str(config_file), "--run-id", run_id]


def train_subprocess(config: TrainConfig, *, runs_dir: Path, callbacks: TrainCallbacks | None = None,
                     stop_event: threading.Event | None = None, resume: str | None = None,
                     nproc: int = 2, run_id: str | None = None,
                     epochs: int | None = None) -> RunFinished | RunFailed:
    """``trainer.train`` in ``nproc`` torchrun processes; ``epochs`` extends a resumed run."""
    callbacks = callbacks or TrainCallbacks()
    stop_event = stop_event or threading.Event()
    runs_dir = Path(runs_dir)
    store = RunStore(runs_dir)
    if resume:
        resumed = store.get(resume)
        runs_dir, run_id, resume = resumed.path.parent, resumed.run_id, resumed.run_id
    else:
        run_id = run_id or store.new_run_id(config)
    run_path = runs_dir / run_id
    stop_file = Run(run_path).stop_file
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "config.json"
        config_file.write_text(config.to_json(), encoding="utf-8")
        log = open(Path(tmp) / "torchrun.log", "w+", encoding="utf-8")
        process = subprocess.Popen(torchrun_command(config_file, runs_dir, run_id, nproc, resume, epochs),
                                   stdout=log, stderr=subprocess.STDOUT)

        def finished() -> bool:
            if stop_event.is_set() and run_path.is_dir():
                stop_file.touch()
            return process.poll() is not None

        result = None
        for event in follow(run_path / "events.jsonl", stop=finished):
            dispatch(event, callbacks)
            if isinstance(event, (RunFinished, RunFailed)):
                result = event
        process.wait()
        stop_file.unlink(missing_ok=True)
        if result is None:
            log.seek(0)
            result = _failure(log.read(), process.returncode, run_id, run_path)
            callbacks.on_failed(result)
        log.close()
    return result


def _failure(log: str, returncode: int, run_id: str, run_path: Path) -> RunFailed:
    """What a torchrun job that reported nothing died of: rank 0's one-line error when it gave
    one (bad data or model are found before the run folder exists), else the log's last line."""
    lines = [line for line in log.splitlines() if line.strip()]
    created = run_path.is_dir()
    where = (run_id, str(run_path)) if created else (None, None)
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    if errors:
        return RunFailed(errors[-1][len(ERROR_PREFIX):].strip(), *where, user_error=not created)
    tail = lines[-1] if lines else "no output"
    return RunFailed(f"torchrun exited with status {returncode}: {tail[:200]}", *where)
