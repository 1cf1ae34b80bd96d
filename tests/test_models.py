"""Tiny DistilBERT, ALBERT and BERT through train -> save -> reload -> predict."""

import json

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import ConfigError, ModelError
from lorasent_tui.core.events import RunFinished
from tests.tiny_models import ARCHITECTURES


def _train_tiny(model_dir, runs_dir, **extra):
    from lorasent_tui.core.trainer import train

    cfg = build_config({"model": str(model_dir), "precision": "fp32", "train_size": 24, "eval_size": 16, "epochs": 2,
                        "max_length": 32, "batch_size": 8, "logging_steps": 1, **extra})
    result = train(cfg, runs_dir=runs_dir)
    assert isinstance(result, RunFinished), result
    return cfg, result


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_train_save_reload_predicts_the_same(arch, tiny_model_dir, tmp_path):
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.predict import Predictor

    cfg, result = _train_tiny(tiny_model_dir(arch), tmp_path,
                              target_modules="query,value", head_learning_rate="0.05")
    adapter = tmp_path / result.run_id / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file()
    assert json.loads((adapter / "adapter_config.json").read_text())["peft_type"] == "LORA"
    splits = load_splits(cfg)
    best = result.best_metrics
    for merge in (True, False):
        predictor = Predictor.from_run(result.run_id, tmp_path, merge=merge)
        probs = [p.score for p in predictor.predict(splits.eval_texts)]
        metrics, _ = classification_metrics(splits.eval_labels, probs)
        # The reloaded model reproduces the metrics measured in training, to float precision.
        assert metrics["roc_auc"] == pytest.approx(best["roc_auc"], abs=1e-6)
        assert metrics["accuracy"] == pytest.approx(best["accuracy"])


def test_head_layers_missing_from_the_checkpoint_are_saved(tiny_model_dir, tmp_path):
    from safetensors import safe_open

    _, result = _train_tiny(tiny_model_dir("distilbert"), tmp_path, epochs=1)
    path = tmp_path / result.run_id / "adapter" / "adapter_model.safetensors"
    with safe_open(str(path), "pt") as handle:
        keys = list(handle.keys())
    assert any("pre_classifier" in k for k in keys) and any("classifier" in k for k in keys)


def test_unknown_target_module_is_a_clear_error(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    cfg = build_config({"model": str(tiny_model_dir("bert")), "train_size": 8, "eval_size": 8,
                        "epochs": 1, "max_length": 32, "target_modules": "nonexistent"})
    result = train(cfg, runs_dir=tmp_path)
    assert "nonexistent" in result.message and "matches no linear layer" in result.message
    assert result.user_error


def test_max_length_above_the_model_limit(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    cfg = build_config({"model": str(tiny_model_dir("bert")), "train_size": 8, "eval_size": 8,
                        "epochs": 1, "max_length": 512})
    result = train(cfg, runs_dir=tmp_path)
    assert "limit of 128" in result.message


def test_unavailable_model_is_one_line(monkeypatch):
    from lorasent_tui.core import models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as info:
        models.load_tokenizer("no-such-org/no-such-model")
    message = str(info.value)
    assert "no-such-org/no-such-model" in message and "--model /path" in message
    assert "\n" not in message


def test_target_roles_map_per_architecture(tiny_model_dir):
    from lorasent_tui.core import models

    expected = {"distilbert": "q_lin", "albert": "attention.query", "bert": "self.query"}
    for arch, fragment in expected.items():
        model, _ = models.load_classifier(str(tiny_model_dir(arch)), seed=0)
        names = models.resolve_target_modules(model, ["query"])
        assert names and all(fragment in n for n in names)
        with pytest.raises(ConfigError):
            models.resolve_target_modules(model, ["does_not_exist"])


def test_cached_frozen_layers_give_the_full_models_predictions(tiny_model_dir, tmp_path):
    """LoRA in the top layer only: training runs on cached lower-layer outputs, yet the saved
    adapter on the full model reproduces the validation metrics measured through the cache."""
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.predict import Predictor

    statuses = []
    from lorasent_tui.core.events import TrainCallbacks
    from lorasent_tui.core.trainer import train

    cfg = build_config({"model": str(tiny_model_dir("bert")), "train_size": 24, "eval_size": 16,
                        "epochs": 2, "max_length": 32, "batch_size": 8, "lora_layers": 1, "precision": "fp32",
                        "head_learning_rate": 0.05})
    result = train(cfg, runs_dir=tmp_path,
                   callbacks=TrainCallbacks(on_status=lambda e: statuses.append(e.message)))
    assert isinstance(result, RunFinished), result
    assert any("caching" in s for s in statuses)
    adapter_cfg = json.loads((tmp_path / result.run_id / "adapter" / "adapter_config.json").read_text())
    assert all(".layer.1." in name for name in adapter_cfg["target_modules"])
    splits = load_splits(cfg)
    probs = [p.score for p in Predictor.from_run(result.run_id, tmp_path).predict(splits.eval_texts)]
    metrics, _ = classification_metrics(splits.eval_labels, probs)
    assert metrics["roc_auc"] == pytest.approx(result.best_metrics["roc_auc"], abs=1e-6)


def test_bf16_run_reloads_with_the_same_predictions(tiny_model_dir, tmp_path):
    """Under bf16 autocast, the merged reload (predict's) computes exactly what validation
    computed (validation scores with the adapters merged) and the unmerged one agrees to bf16
    rounding."""
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.predict import Predictor

    cfg, result = _train_tiny(tiny_model_dir("bert"), tmp_path, precision="bf16",
                              head_learning_rate="0.05")
    splits = load_splits(cfg)
    exact = Predictor.from_run(result.run_id, tmp_path, merge=True)
    assert exact.precision == "bf16"
    metrics, _ = classification_metrics(splits.eval_labels, [p.score for p in exact.predict(splits.eval_texts)])
    assert metrics["roc_auc"] == pytest.approx(result.best_metrics["roc_auc"], abs=1e-6)
    unmerged = Predictor.from_run(result.run_id, tmp_path, merge=False)
    a = [p.score for p in exact.predict(splits.eval_texts)]
    b = [p.score for p in unmerged.predict(splits.eval_texts)]
    assert max(abs(x - y) for x, y in zip(a, b)) < 0.02
