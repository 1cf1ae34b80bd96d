"""The runs list says why a run did not complete (RunSummary.ended, shown by `runs` and the app)."""

import subprocess
import sys

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.store import RunStore
from tests.tui.fakes import epoch_metrics


def make(store, run_id, state, done, epochs=3, **status):
    run = store.create(TrainConfig(epochs=epochs), run_id=run_id)
    run.write_metrics([epoch_metrics(e, 0.8) for e in range(1, done + 1)])
    (run.adapter_dir).mkdir()
    (run.adapter_dir / "adapter_model.safetensors").write_bytes(b"x")
    run.update_status(state=state, epochs_done=done, **status)
    return run


def test_problem_says_what_happened(tmp_path):
    store = RunStore(tmp_path)
    make(store, "stopped", "stopped", 1)
    make(store, "failed", "failed", 0, error="CUDA out of memory\ntraceback line")
    make(store, "done", "completed", 3)
    dead = make(store, "interrupted", "running", 2)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead.update_status(pid=child.pid)
    make(store, "late", "stopped", 3)
    make(store, "pruned", "stopped", 1, pruned=True)
    summaries = store.list()
    assert all(s.problem is None for s in summaries)  # intact: nothing is damaged
    problems = {s.run_id: s.ended for s in summaries}
    assert problems["stopped"] == "stopped by user during epoch 2"
    assert problems["interrupted"] == "process ended during epoch 3"
    assert problems["failed"] == "failed during epoch 1: CUDA out of memory"
    assert problems["late"] == "stopped by user after its last epoch (3)"
    assert problems["pruned"] == "pruned by its sweep during epoch 2"
    assert problems["done"] is None


def test_the_runs_command_says_why_a_run_ended(tmp_path, capsys):
    from lorasent_tui.cli import main

    make(RunStore(tmp_path), "stopped", "stopped", 1)
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "(stopped by user during epoch 2)" in capsys.readouterr().out


def test_a_damaged_run_says_both(tmp_path):
    store = RunStore(tmp_path)
    run = make(store, "stopped", "stopped", 1)
    (run.adapter_dir / "adapter_model.safetensors").unlink()
    (summary,) = store.list()
    assert summary.problem == "run stopped: the saved adapter is missing"
    assert summary.ended == "stopped by user during epoch 2"
