"""Two CPU processes on gloo under torchrun: one run folder, metrics written once, Stop works."""

import json
import threading
import time

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.events import RunFinished, TrainCallbacks

pytestmark = pytest.mark.slow


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "train_size": 64, "eval_size": 32, "epochs": 2,
                         "max_length": 32, "batch_size": 8, "head_learning_rate": 0.05, **extra})


def test_two_processes_write_one_run(tiny_model_dir, tmp_path):
    from lorasent_tui.core.launcher import train_subprocess
    from lorasent_tui.core.trainer import train

    epochs = []
    cfg = _config(tiny_model_dir("bert"))
    result = train_subprocess(cfg, runs_dir=tmp_path / "ddp", nproc=2,
                              callbacks=TrainCallbacks(on_epoch=lambda e: epochs.append(e.metrics)))
    assert isinstance(result, RunFinished) and result.state == "completed", result
    (run_dir,) = (tmp_path / "ddp").iterdir()
    rows = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # rank 0 alone wrote them
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "completed" and status["world_size"] == 2
    assert [e["epoch"] for e in epochs] == [1, 2]  # followed live through events.jsonl
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    single = train(cfg.replace(batch_size=16), runs_dir=tmp_path / "single")
    print("\n2 processes:", json.dumps(rows[-1]), "\n1 process: ", json.dumps(single.best_metrics))
    assert set(rows[-1]) == set(single.best_metrics)


def test_stop_reaches_every_process(tiny_model_dir, tmp_path):
    from lorasent_tui.core.launcher import train_subprocess

    stop = threading.Event()
    seen = []

    def on_progress(event):
        seen.append(event.step)
        stop.set()

    cfg = _config(tiny_model_dir("bert"), epochs=50, train_size=128)
    started = time.monotonic()
    result = train_subprocess(cfg, runs_dir=tmp_path, nproc=2, stop_event=stop,
                              callbacks=TrainCallbacks(on_progress=on_progress))
    assert isinstance(result, RunFinished) and result.state == "stopped", result
    assert time.monotonic() - started < 120
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "status.json").read_text())["state"] == "stopped"
    assert not (run_dir / "STOP").exists()
