"""The moving average of the trained weights: the arithmetic, what the run evaluates and saves,
and that a stopped and resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import pytest

from lorasent_tui.core.events import RunFinished
from lorasent_tui.core.store import RunStore
from tests.test_resume import (adapter_tensors, assert_same_rows, assert_same_tensors, checkpoint_tensors,
                               stop_after_epoch, tiny_config)


def test_average_follows_the_ramped_decay_and_applied_swaps_back():
    import torch

    from lorasent_tui.core.weight_average import RAMP_STEPS, WeightAverage

    model = torch.nn.Linear(2, 1, bias=False)
    frozen = torch.nn.Linear(2, 1, bias=False).requires_grad_(False)
    holder = torch.nn.ModuleDict({"trained": model, "frozen": frozen})
    with torch.no_grad():
        model.weight.fill_(0.0)
    average = WeightAverage(holder, decay=0.9)
    assert average.names == ["trained.weight"]  # frozen tensors are not averaged
    expected = torch.zeros(1, 2)
    for step in range(1, 30):
        with torch.no_grad():
            model.weight.fill_(float(step))
        average.update()
        decay = min(0.9, (1 + step) / (RAMP_STEPS + step))
        expected = decay * expected + (1 - decay) * step
    assert torch.allclose(average.average[0], expected)
    with average.applied():
        assert torch.allclose(model.weight, expected)
    assert torch.all(model.weight == 29.0)  # training continues from the raw weights


def test_evaluation_and_adapter_use_the_average(tiny_model_dir, tmp_path):
    """With EMA the saved adapter differs from the last step's weights in the checkpoint."""
    import torch

    from lorasent_tui.core.trainer import train

    result = train(tiny_config(tiny_model_dir("bert"), epochs=1, ema_decay=0.9), runs_dir=tmp_path)
    assert isinstance(result, RunFinished) and result.state == "completed", result
    run = RunStore(tmp_path).get(result.run_id)
    raw = checkpoint_tensors(run.path)
    adapter = adapter_tensors(run.path)
    lora = [name for name in raw if "lora_A" in name]
    assert lora
    saved = {name.replace(".default", ""): t for name, t in adapter.items()}
    differs = [not torch.allclose(raw[name], saved[name.replace(".default", "")]) for name in lora]
    assert all(differs)


def test_stop_and_resume_with_ema_equals_uninterrupted(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    config = tiny_config(tiny_model_dir("bert"), ema_decay=0.9)
    whole = train(config, runs_dir=tmp_path / "whole")
    assert isinstance(whole, RunFinished) and whole.state == "completed"
    stop, callbacks = stop_after_epoch(1)
    first = train(config, runs_dir=tmp_path / "parts", callbacks=callbacks, stop_event=stop)
    assert first.state == "stopped"
    resumed = train(config, runs_dir=tmp_path / "parts", resume=first.run_id)
    assert isinstance(resumed, RunFinished) and resumed.state == "completed", resumed
    want, got = RunStore(tmp_path / "whole").get(whole.run_id), RunStore(tmp_path / "parts").get(first.run_id)
    assert_same_rows(got.metrics(), want.metrics())
    assert_same_tensors(adapter_tensors(got.path), adapter_tensors(want.path))
    assert_same_tensors(checkpoint_tensors(got.path), checkpoint_tensors(want.path))


@pytest.mark.parametrize("value", ["-0.1", "1", "1.5"])
def test_ema_decay_out_of_range_is_a_field_error(value):
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        build_config({"ema_decay": value})
    assert set(caught.value.field_errors) == {"ema_decay"}
