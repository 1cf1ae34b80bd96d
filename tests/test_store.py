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
