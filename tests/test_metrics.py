import json

import pytest

from lorasent_tui.core.display import MISSING, format_metric
from lorasent_tui.core.metrics import classification_metrics


def test_metrics_match_hand_computed_values():
    labels = [1, 1, 1, 0, 0, 0, 0, 1]
    probs = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7]
    # predictions at 0.5: 1 1 0 1 0 0 0 1 -> TP=3 FN=1 FP=1 TN=3
    metrics, roc = classification_metrics(labels, probs)
    assert metrics["accuracy"] == pytest.approx(6 / 8)
    assert metrics["precision"] == pytest.approx(3 / 4)
    assert metrics["recall"] == metrics["tpr"] == pytest.approx(3 / 4)
    assert metrics["fpr"] == pytest.approx(1 / 4)
    assert metrics["f1"] == pytest.approx(0.75)
    # pairs (pos, neg) ranked correctly: 14 of 16 (0.3 is below 0.6 and 0.4)
    assert metrics["roc_auc"] == pytest.approx(14 / 16)
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0


def test_single_class_auc_is_undefined_not_a_number():
    metrics, roc = classification_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["roc_auc"] is None and roc == {"fpr": [], "tpr": []}
    assert json.loads(json.dumps(metrics, allow_nan=False))["roc_auc"] is None  # null in metrics.jsonl
    assert format_metric(metrics["roc_auc"]) == MISSING


def test_an_undefined_auc_reads_as_missing_everywhere(tmp_path):
    """A run whose epochs have no AUC: the store, the CLI table and the model card show "–"."""
    from lorasent_tui.commands import format_row
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.export import model_card_text
    from lorasent_tui.core.store import RunStore

    metrics, roc = classification_metrics([0, 0, 0, 0], [0.1, 0.6, 0.2, 0.3])
    row = {"epoch": 1, "train_loss": 0.7, "eval_loss": 0.6, **metrics}
    run = RunStore(tmp_path).create(build_config({"epochs": 1}), run_id="one-class")
    run.write_metrics([row])
    run.write_roc({"1": {**roc, "auc": row["roc_auc"]}})
    run.update_status(state="completed", best_epoch=1, epochs_done=1)
    assert '"roc_auc": null' in (run.path / "metrics.jsonl").read_text()
    assert run.metrics()[0]["roc_auc"] is None and run.roc()["1"]["auc"] is None
    summary = run.summary()
    assert summary.best_epoch == 1 and summary.best_accuracy == pytest.approx(0.75)
    assert format_row(run.metrics()[0]).split()[-1] == MISSING
    card = model_card_text(run)
    assert f"ROC AUC {MISSING} on" in card
    assert card.count(f"| **{MISSING}** |") == 1  # the AUC cell of the (best, bold) epoch


def test_roc_curve_is_thinned():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 5000).tolist()
    _, roc = classification_metrics(labels, rng.random(5000).tolist())
    assert len(roc["fpr"]) <= 200 and roc["fpr"][-1] == 1.0


def test_an_epoch_row_has_exactly_the_recorded_columns():
    from lorasent_tui.core.records import METRIC_KEYS

    metrics, _ = classification_metrics([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.3])
    # The trainer adds the epoch and the two losses to these (core.evaluation.evaluate).
    assert sorted(["epoch", "train_loss", "eval_loss", *metrics]) == sorted(METRIC_KEYS)
