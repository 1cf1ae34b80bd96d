"""Serving on CPUs: ONNX export of a run (fp32 and int8), loaded with ONNX Runtime.

Offline, with tiny models; one trained run per architecture is shared by the whole module.
"""

from __future__ import annotations

import json

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import RunFinished

TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "I loved every minute of it!",
         "The worst acting I have seen in years.", "ok", "Not bad at all, quite charming really."]
# Far beyond max_length 32: read as the cut text plus several sliding windows.
LONG = " ".join(["The plot wanders, yet the acting is superb and the score is moving."] * 12
                + ["In the end it is a dull, tiresome mess that I cannot recommend."] * 6)


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "precision": "fp32", "train_size": 24, "eval_size": 16,
                         "epochs": 2, "max_length": 32, "batch_size": 8, "logging_steps": 1,
                         "target_modules": "query,value", "head_learning_rate": "0.05",
                         "sliding_windows": "true", **extra})


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """``trained(arch) -> (runs_dir, run_id)``, trained once per architecture per module."""
    from lorasent_tui.core.trainer import train

    cache = {}

    def get(arch):
        if arch not in cache:
            runs_dir = tmp_path_factory.mktemp(f"runs-{arch}")
            result = train(_config(tiny_model_dir(arch)), runs_dir=runs_dir)
            assert isinstance(result, RunFinished), result
            cache[arch] = (runs_dir, result.run_id)
        return cache[arch]

    return get


def _scores(runs_dir, run_id, backend, texts):
    from lorasent_tui.core.predict import Predictor

    predictor = Predictor.from_run(run_id, runs_dir, backend=backend)
    assert predictor.backend.name == backend
    return [p.score for p in predictor.predict(texts, batch_size=4)]
