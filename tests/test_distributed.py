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


def test_two_processes_write_one_run_and_train_like_one_process(tiny_model_dir, tmp_path):
    """Two ranks with batches of 8 take the same steps as one process with batches of 16.

    Without length bucketing the epoch's order is one permutation cut into batches, and rank r
    takes batches r, r+2, ...: step k of the two ranks covers examples 16k..16k+15, exactly the
    one process's batch k. With dropout off and the same seed, averaging the two ranks'
    gradients gives that batch's gradient, so every epoch's validation results and the saved
    adapter agree up to float rounding. Checked by breaking the averaging: without the
    all-reduce the validation loss is off by 0.5; with a sum instead of a mean (AdamW nearly
    hides a gradient's scale) the adapter weights differ by ~2e-4, over the 1e-5 allowed.
    """
    import torch
    from safetensors.torch import load_file

    from lorasent_tui.core.launcher import train_subprocess
    from lorasent_tui.core.trainer import train

    epochs = []
    cfg = _config(tiny_model_dir("bert"), length_bucketing=False, lora_dropout=0.0,
                  model_dropout=0.0, precision="fp32", device="cpu")
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
    assert isinstance(single, RunFinished) and single.state == "completed", single
    (single_dir,) = (tmp_path / "single").iterdir()
    reference = [json.loads(l) for l in (single_dir / "metrics.jsonl").read_text().splitlines()]
    print("\n2 processes:", json.dumps(rows), "\n1 process: ", json.dumps(reference))
    assert [set(r) for r in rows] == [set(r) for r in reference]
    for ddp, one in zip(rows, reference):
        # The losses move by ~1e-2 per epoch here; float rounding of the all-reduce is ~1e-6.
        assert ddp["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-4), ddp["epoch"]
        # An untrained tiny model's scores nearly tie: float rounding may swap one pair's order
        # (AUC moves by ~2e-3), which the loss above would not hide for a real averaging bug.
        assert ddp["roc_auc"] == pytest.approx(one["roc_auc"], abs=5e-3), ddp["epoch"]
        assert ddp["accuracy"] == pytest.approx(one["accuracy"], abs=1 / cfg.eval_size), ddp["epoch"]
    # The best epoch's adapters themselves: the same weights up to float rounding.
    # (train_loss is not compared: rank 0 records the mean over its own half of the batches.)
    ddp_weights = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    one_weights = load_file(single_dir / "adapter" / "adapter_model.safetensors")
    assert set(ddp_weights) == set(one_weights)
    for name, tensor in ddp_weights.items():
        assert torch.allclose(tensor, one_weights[name], atol=1e-5), name


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
