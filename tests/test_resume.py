"""Resuming a run gives exactly what an uninterrupted run gives (CPU, fixed seed)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import RunError
from lorasent_tui.core.events import RunFailed, RunFinished, TrainCallbacks
from lorasent_tui.core.store import RunStore

SETTINGS = {"train_size": 24, "eval_size": 16, "epochs": 3, "max_length": 32, "batch_size": 8,
            "logging_steps": 1, "device": "cpu", "seed": 7}


def tiny_config(model_dir, **extra):
    return build_config({"model": str(model_dir), **SETTINGS, **extra})


def adapter_tensors(run_path):
    from safetensors.torch import load_file

    return load_file(run_path / "adapter" / "adapter_model.safetensors")


def checkpoint_tensors(run_path):
    from safetensors.torch import load_file

    return load_file(run_path / "checkpoint" / "trainable.safetensors")


def assert_same_rows(rows, expected):
    assert [r["epoch"] for r in rows] == [r["epoch"] for r in expected]
    for row, want in zip(rows, expected):
        assert set(row) == set(want)
        for key, value in want.items():
            if key == "per_class":
                for name, scores in value.items():
                    assert row[key][name] == pytest.approx(scores, abs=1e-6), (row["epoch"], name)
            elif key == "confusion_matrix":
                assert row[key] == value, row["epoch"]
            else:
                assert row[key] == pytest.approx(value, abs=1e-6), (row["epoch"], key)


def assert_same_tensors(got, want):
    import torch

    assert set(got) == set(want)
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-6, rtol=0), name


@pytest.fixture(scope="module")
def baseline(tiny_model_dir, tmp_path_factory):
    """One uninterrupted 3-epoch run, shared by the tests of this module."""
    from lorasent_tui.core.trainer import train

    runs = tmp_path_factory.mktemp("baseline-runs")
    result = train(tiny_config(tiny_model_dir("bert")), runs_dir=runs)
    assert isinstance(result, RunFinished) and result.state == "completed", result
    run = RunStore(runs).get(result.run_id)
    return {"rows": run.metrics(), "adapter": adapter_tensors(run.path),
            "checkpoint": checkpoint_tensors(run.path), "best_epoch": result.best_epoch,
            "roc": run.roc()}


def stop_after_epoch(n):
    stop = threading.Event()

    def on_epoch(event):
        if event.metrics["epoch"] == n:
            stop.set()

    return stop, TrainCallbacks(on_epoch=on_epoch)


def test_stop_after_epoch_1_then_resume_equals_uninterrupted(baseline, tiny_model_dir, tmp_path):
    from lorasent_tui.core.checkpoint import checkpoint_state
    from lorasent_tui.core.trainer import train

    stop, callbacks = stop_after_epoch(1)
    first = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, callbacks=callbacks,
                  stop_event=stop)
    assert isinstance(first, RunFinished) and first.state == "stopped", first
    run = RunStore(tmp_path).get(first.run_id)
    assert run.effective_state() == "stopped"
    assert [r["epoch"] for r in run.metrics()] == [1]
    assert checkpoint_state(run.checkpoint_dir)["epoch"] == 1

    epochs_seen = []
    resumed = train(tiny_config("ignored-on-resume"), runs_dir=tmp_path, resume=first.run_id,
                    callbacks=TrainCallbacks(on_epoch=lambda e: epochs_seen.append(e.metrics["epoch"])))
    assert isinstance(resumed, RunFinished) and resumed.state == "completed", resumed
    assert resumed.run_id == first.run_id
    assert epochs_seen == [2, 3]  # epoch 1 is not trained again
    assert_same_rows(run.metrics(), baseline["rows"])
    assert resumed.best_epoch == baseline["best_epoch"]
    assert_same_tensors(adapter_tensors(run.path), baseline["adapter"])
    assert_same_tensors(checkpoint_tensors(run.path), baseline["checkpoint"])
    assert sorted(run.roc()) == sorted(baseline["roc"])
    status = run.status()
    assert status["state"] == "completed" and status["epochs_done"] == 3 and status["error"] is None
    assert [t["epoch"] for t in status["epoch_times"]] == [1, 2, 3]


def test_resume_of_a_completed_run_is_a_clear_error(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    run = RunStore(tmp_path).create(tiny_config(tiny_model_dir("bert")), run_id="done")
    run.update_status(state="completed")
    result = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, resume="done")
    assert isinstance(result, RunFailed) and result.user_error
    assert result.message == ("run done is already completed; nothing to resume "
                              "(pass --epochs above 3 to train it further)")
    assert run.status()["state"] == "completed"  # the finished run is left as it was


def test_resume_of_a_missing_or_bad_run_id(tmp_path, tiny_model_dir):
    from lorasent_tui.core.trainer import train

    cfg = tiny_config(tiny_model_dir("bert"))
    for ref in ("nope", "../etc", "a b"):
        result = train(cfg, runs_dir=tmp_path, resume=ref)
        assert isinstance(result, RunFailed) and result.user_error and result.run_id is None
        assert "\n" not in result.message


def test_resume_without_a_complete_checkpoint_starts_at_epoch_1(baseline, tiny_model_dir, tmp_path):
    """Stopped inside epoch 1: nothing was checkpointed, so resuming trains from scratch."""
    from lorasent_tui.core.checkpoint import checkpoint_state
    from lorasent_tui.core.trainer import train

    stop = threading.Event()

    def on_progress(event):
        if event.step == 2:
            stop.set()

    first = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, stop_event=stop,
                  callbacks=TrainCallbacks(on_progress=on_progress))
    assert first.state == "stopped"
    run = RunStore(tmp_path).get(first.run_id)
    assert run.metrics() == [] and checkpoint_state(run.checkpoint_dir) is None
    # A half-written checkpoint (no COMPLETE marker) must be ignored, not loaded.
    run.checkpoint_dir.mkdir()
    (run.checkpoint_dir / "state.json").write_text('{"epoch": 2, "global_step": 6}')
    assert checkpoint_state(run.checkpoint_dir) is None

    epochs_seen = []
    resumed = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, resume=first.run_id,
                    callbacks=TrainCallbacks(on_epoch=lambda e: epochs_seen.append(e.metrics["epoch"])))
    assert resumed.state == "completed", resumed
    assert epochs_seen == [1, 2, 3]
    assert_same_rows(run.metrics(), baseline["rows"])
    assert_same_tensors(adapter_tensors(run.path), baseline["adapter"])


def test_resume_drops_records_of_an_epoch_after_the_checkpoint(baseline, tiny_model_dir, tmp_path):
    """A crash after metrics.jsonl got epoch 2 but before its checkpoint: epoch 2 is redone."""
    from lorasent_tui.core.trainer import train

    stop, callbacks = stop_after_epoch(1)
    first = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, callbacks=callbacks,
                  stop_event=stop)
    run = RunStore(tmp_path).get(first.run_id)
    bogus = {**baseline["rows"][1], "accuracy": 0.123}
    run.write_metrics(run.metrics() + [bogus])
    run.write_roc({**run.roc(), "2": {"fpr": [0, 1], "tpr": [0, 1], "auc": 0.5}})
    run.update_status(state="running", pid=_dead_pid())
    assert run.effective_state() == "interrupted"
    resumed = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, resume=first.run_id)
    assert resumed.state == "completed", resumed
    assert_same_rows(run.metrics(), baseline["rows"])


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_of_an_interrupted_run(baseline, tiny_model_dir, tmp_path):
    """status.json says running but its writer is gone (killed): resumable, same result."""
    from lorasent_tui.core.trainer import train

    stop, callbacks = stop_after_epoch(2)
    first = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, callbacks=callbacks,
                  stop_event=stop)
    run = RunStore(tmp_path).get(first.run_id)
    run.update_status(state="running", pid=_dead_pid(), finished_at=None)
    assert run.effective_state() == "interrupted"
    (summary,) = RunStore(tmp_path).list()
    assert summary.state == "interrupted" and summary.epochs_done == 2

    resumed = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, resume=first.run_id)
    assert resumed.state == "completed", resumed
    assert_same_rows(run.metrics(), baseline["rows"])
    assert_same_tensors(adapter_tensors(run.path), baseline["adapter"])


def test_resume_of_a_live_run_is_refused(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    run = RunStore(tmp_path).create(tiny_config(tiny_model_dir("bert")), run_id="live")
    assert run.effective_state() == "running"  # this very process is its writer
    result = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, resume="live")
    assert isinstance(result, RunFailed) and "still running" in result.message


def test_cli_train_resume(baseline, tiny_model_dir, tmp_path, capsys):
    from lorasent_tui.cli import main
    from lorasent_tui.core.trainer import train

    stop, callbacks = stop_after_epoch(1)
    first = train(tiny_config(tiny_model_dir("bert")), runs_dir=tmp_path, callbacks=callbacks,
                  stop_event=stop)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["train", "--resume", first.run_id, "--runs-dir", str(tmp_path), "--quiet"])
    finally:  # cmd_train installs its Ctrl+C handler in this (pytest's) main thread
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"({'completed'}, best epoch {baseline['best_epoch']})" in out
    # Only the resumed epochs are printed, and the run holds all three.
    printed = [line.split()[0] for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert printed == ["2", "3"]
    rows = [json.loads(line) for line in
            (tmp_path / first.run_id / "metrics.jsonl").read_text().splitlines()]
    assert_same_rows(rows, baseline["rows"])

    assert main(["train", "--resume", first.run_id, "--runs-dir", str(tmp_path)]) == 2
    assert "already completed" in capsys.readouterr().err
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:  # extended by one epoch from the command line
        code = main(["train", "--resume", first.run_id, "--epochs", "4", "--runs-dir", str(tmp_path),
                     "--quiet"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert code == 0, capsys.readouterr().err
    run = RunStore(tmp_path).get(first.run_id)
    assert [r["epoch"] for r in run.metrics()] == [1, 2, 3, 4] and run.config().epochs == 4



def test_long_lived_objects_are_frozen_only_while_a_run_trains(tiny_model_dir, tmp_path):
    """The GC skips the model and data during the run (no long pauses), and not after it."""
    import gc

    from lorasent_tui.core.trainer import train

    frozen_during = []
    callbacks = TrainCallbacks(on_epoch=lambda event: frozen_during.append(gc.get_freeze_count()))
    result = train(tiny_config(tiny_model_dir("bert"), epochs=1), runs_dir=tmp_path, callbacks=callbacks)
    assert isinstance(result, RunFinished)
    assert frozen_during and frozen_during[0] > 10_000
    assert gc.get_freeze_count() == 0


def test_stop_during_evaluation_drops_that_epoch_and_resumes(baseline, tiny_model_dir, tmp_path):
    """Stop while epoch 2 is evaluated: no row or checkpoint for it; epoch 1 stays resumable."""
    from lorasent_tui.core.checkpoint import checkpoint_state
    from lorasent_tui.core.trainer import train

    stop = threading.Event()
    scored_after_stop = []

    def on_progress(event):
        if event.phase == "eval" and event.epoch == 2:
            if stop.is_set():
                scored_after_stop.append(event.eval_done)
            elif event.eval_done == 0:
                stop.set()

    # Small evaluation batches, so there is a batch boundary to stop at.
    config = tiny_config(tiny_model_dir("bert"), eval_batch_size=4)
    first = train(config, runs_dir=tmp_path, stop_event=stop, callbacks=TrainCallbacks(on_progress=on_progress))
    assert isinstance(first, RunFinished) and first.state == "stopped", first
    assert scored_after_stop == []  # not one more batch was scored
    run = RunStore(tmp_path).get(first.run_id)
    assert [r["epoch"] for r in run.metrics()] == [1]
    assert sorted(run.roc()) == ["1"]
    assert checkpoint_state(run.checkpoint_dir)["epoch"] == 1
    status = run.status()
    assert status["state"] == "stopped" and status["epochs_done"] == 1
    assert [t["epoch"] for t in status["epoch_times"]] == [1]

    resumed = train(tiny_config("ignored-on-resume"), runs_dir=tmp_path, resume=first.run_id)
    assert resumed.state == "completed", resumed
    assert_same_rows(run.metrics(), baseline["rows"])


def test_extend_a_completed_run(tiny_model_dir, tmp_path, monkeypatch):
    """A completed 1-epoch run resumed with epochs=2: epoch 1 kept, epoch 2 on a fresh decay."""
    import torch

    from lorasent_tui.core.session import lr_schedule
    from lorasent_tui.core.trainer import train

    config = tiny_config(tiny_model_dir("bert"), epochs=1, warmup_ratio=0.25)
    first = train(config, runs_dir=tmp_path)
    assert first.state == "completed", first
    run = RunStore(tmp_path).get(first.run_id)
    (row_1,) = run.metrics()

    used = []  # the learning rate of the LoRA weights at each optimizer step
    real_step = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        used.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    extended = train(tiny_config("ignored-on-resume"), runs_dir=tmp_path, resume=first.run_id, epochs=2)
    assert isinstance(extended, RunFinished) and extended.state == "completed", extended
    rows = run.metrics()
    assert [r["epoch"] for r in rows] == [1, 2]
    assert rows[0] == row_1
    status = run.status()
    assert run.config().epochs == 2 and status["epochs"] == 2 and status["state"] == "completed"
    assert status["schedule_epochs"] == [1, 2] and status["epochs_done"] == 2
    # 24 texts in batches of 8: the added epoch's 3 steps start at the base rate, no warmup,
    # and decay linearly towards zero.
    base = config.learning_rate
    assert used == pytest.approx([base, base * 2 / 3, base / 3])
    factor = lr_schedule([1, 2], 8, 0.25)  # 8 steps an epoch: 2 warmup steps in the first
    assert [factor(s) for s in (0, 1, 2, 7, 8, 12, 15)] == pytest.approx(
        [1 / 3, 2 / 3, 1.0, 1 / 6, 1.0, 0.5, 1 / 8])

    again = train(tiny_config("ignored-on-resume"), runs_dir=tmp_path, resume=first.run_id)
    assert isinstance(again, RunFailed) and "already completed" in again.message
    shorter = train(tiny_config("ignored-on-resume"), runs_dir=tmp_path, resume=first.run_id, epochs=1)
    assert isinstance(shorter, RunFailed) and "not shorten" in shorter.message
