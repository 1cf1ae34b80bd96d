import json
import os
import subprocess
import sys

import pytest

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import RunError
from lorasent_tui.core.store import RunStore

ROW = {"epoch": 1, "train_loss": 0.6, "eval_loss": 0.5, "accuracy": 0.8, "precision": 0.8,
       "recall": 0.8, "f1": 0.8, "tpr": 0.8, "fpr": 0.2, "roc_auc": 0.85}


def test_create_list_and_get(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(TrainConfig(epochs=2), run_id="r1")
    run.write_metrics([ROW])
    run.adapter_dir.mkdir()
    (run.adapter_dir / "adapter_model.safetensors").write_bytes(b"weights")
    run.update_status(best_epoch=1, state="completed")
    (summary,) = store.list()
    assert summary.run_id == "r1" and summary.state == "completed"
    assert summary.best_accuracy == 0.8 and summary.epochs_done == 1
    assert store.get("latest").run_id == "r1"
    assert store.get(str(tmp_path / "r1")).run_id == "r1"
    assert run.config() == TrainConfig(epochs=2)


@pytest.mark.parametrize("bad", ["../x", "/etc", "a/b", "..", ".hidden", "a b", "x" * 200, ""])
def test_run_ids_cannot_escape(tmp_path, bad):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError):
        store.create(TrainConfig(), run_id=bad)
    if not bad.startswith("/"):
        with pytest.raises(RunError):
            store.get(bad)


def test_damaged_runs_are_listed_not_fatal(tmp_path):
    store = RunStore(tmp_path)
    store.create(TrainConfig(), run_id="good")
    bad = store.create(TrainConfig(), run_id="bad")
    (bad.path / "status.json").write_text("{not json", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    states = {s.run_id: s for s in store.list()}
    assert states["good"].state == "running"
    assert states["bad"].state == "damaged" and "status.json" in states["bad"].problem
    assert states["empty"].state == "damaged"


def test_dead_writer_shows_as_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(TrainConfig(), run_id="r")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    run.update_status(pid=child.pid)
    assert run.effective_state() == "interrupted"


def test_delete(tmp_path):
    store = RunStore(tmp_path)
    store.create(TrainConfig(), run_id="r")
    store.delete("r")
    assert store.list() == []


def test_unwritable_runs_folder(tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file"
        target.write_text("x")
        with pytest.raises(RunError, match="cannot create runs folder"):
            RunStore(target / "runs").create(TrainConfig())
    else:
        os.chmod(tmp_path, 0o500)
        with pytest.raises(RunError):
            RunStore(tmp_path / "runs").create(TrainConfig())


def test_metrics_file_is_one_json_per_line(tmp_path):
    run = RunStore(tmp_path).create(TrainConfig(), run_id="r")
    run.write_metrics([ROW, {**ROW, "epoch": 2}])
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2]
    assert set(json.loads(lines[0])) == set(ROW)


def test_the_best_epoch_follows_the_one_rule_when_none_is_recorded(tmp_path):
    """A run stopped before its status named a best epoch: ties on accuracy go to the lower
    validation loss, as in the trainer (core.records), in the summary and the run detail."""
    from lorasent_tui.tui.run_detail import load_run_data

    run = RunStore(tmp_path).create(TrainConfig(epochs=3), run_id="r")
    run.write_metrics([ROW, {**ROW, "epoch": 2, "eval_loss": 0.4, "f1": 0.7},
                       {**ROW, "epoch": 3, "accuracy": 0.7, "eval_loss": 0.1}])
    run.update_status(state="stopped")
    summary = run.summary()
    assert (summary.best_epoch, summary.best_accuracy, summary.best_f1) == (2, 0.8, 0.7)
    assert run.best_row(run.metrics())["epoch"] == 2
    assert load_run_data(tmp_path, "r").best_epoch == 2
    run.update_status(best_epoch=1)  # what the run recorded wins
    assert run.summary().best_epoch == 1 and load_run_data(tmp_path, "r").best_epoch == 1


# -- crash-safe writes (core.fsutil) -------------------------------------------------------------

def test_a_failed_write_keeps_the_old_file(tmp_path):
    from lorasent_tui.core.fsutil import atomic_write

    target = tmp_path / "report.png"
    target.write_bytes(b"old")

    def half_then_fail(handle):
        handle.write(b"new, half")
        raise OSError("disk gone")

    with pytest.raises(OSError):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["report.png"]
    atomic_write(target, lambda handle: handle.write(b"new"))
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["report.png"]


def test_a_staged_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path):
    from lorasent_tui.core.fsutil import current_umask, staged_dir

    target = tmp_path / "adapter"
    target.mkdir()
    (target / "weights").write_text("old")
    stale = tmp_path / ".adapter-staging-crashed"  # left by a writer killed mid-save
    stale.mkdir()
    other = tmp_path / ".adapterx-staging-keep"  # another target's: not ours to remove
    other.mkdir()

    with pytest.raises(RuntimeError):
        with staged_dir(target) as staging:
            (staging / "weights").write_text("half")
            raise RuntimeError("killed")
    assert (target / "weights").read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == [".adapterx-staging-keep", "adapter"]

    with staged_dir(target) as staging:
        (staging / "weights").write_text("new")
        os.chmod(staging / "weights", 0o600)  # as some writers leave their files
    assert (target / "weights").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == [".adapterx-staging-keep", "adapter"]
    assert target.stat().st_mode & 0o777 == 0o777 & ~current_umask()
    assert (target / "weights").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def _finished(store, run_id, started_at):
    run = store.create(TrainConfig(), run_id=run_id, started_at=started_at)
    run.write_metrics([ROW])
    (run.adapter_dir).mkdir()
    (run.adapter_dir / "adapter_model.safetensors").write_bytes(b"weights")
    run.update_status(state="completed", best_epoch=1, epochs_done=1)
    return run


def test_latest_is_the_newest_run_with_a_finished_epoch(tmp_path):
    store = RunStore(tmp_path)
    _finished(store, "good", "2026-01-01T10:00:00+00:00")
    failed = store.create(TrainConfig(), run_id="typo", started_at="2026-01-01T11:00:00+00:00")
    failed.update_status(state="failed", error="model 'minlm' not found")
    store.create(TrainConfig(), run_id="just-started", started_at="2026-01-01T12:00:00+00:00")
    no_adapter = store.create(TrainConfig(), run_id="no-adapter", started_at="2026-01-01T13:00:00+00:00")
    no_adapter.write_metrics([ROW])
    assert store.get("latest").run_id == "good"
    _finished(store, "newer", "2026-01-01T14:00:00+00:00")
    assert store.get("latest").run_id == "newer"


def test_latest_without_a_finished_epoch_is_a_clear_error(tmp_path):
    store = RunStore(tmp_path)
    store.create(TrainConfig(), run_id="r").update_status(state="failed")
    with pytest.raises(RunError, match=f"^no run in {tmp_path} has a finished epoch yet$"):
        store.get("latest")
