import json

import numpy as np
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
    from lorasent_tui.console import format_row
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
    from lorasent_tui.core.records import DETAIL_KEYS, METRIC_KEYS, MULTICLASS_METRIC_KEYS

    metrics, _ = classification_metrics([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.3])
    # The trainer adds the epoch and the two losses to these (core.evaluation.evaluate).
    assert sorted(["epoch", "train_loss", "eval_loss", *metrics]) == sorted(METRIC_KEYS + DETAIL_KEYS)
    metrics, _ = classification_metrics([0, 1, 2], np.eye(3), ["a", "b", "c"])
    assert sorted(["epoch", "train_loss", "eval_loss", *metrics]) == sorted(
        MULTICLASS_METRIC_KEYS + DETAIL_KEYS)


THREE = ["a", "b", "c"]
THREE_LABELS = [0, 0, 0, 1, 1, 2, 2, 2]
THREE_PROBS = [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.2, 0.7, 0.1],
               [0.1, 0.4, 0.5], [0.1, 0.2, 0.7], [0.2, 0.2, 0.6], [0.5, 0.1, 0.4]]


def test_three_class_metrics_match_hand_computed_values():
    # predicted (argmax): 0 0 1 | 1 2 | 2 2 0
    metrics, roc = classification_metrics(THREE_LABELS, THREE_PROBS, THREE)
    assert metrics["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    assert metrics["accuracy"] == pytest.approx(5 / 8)
    assert metrics["per_class"]["a"] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert metrics["per_class"]["b"] == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2})
    assert metrics["precision_macro"] == pytest.approx(11 / 18)
    assert metrics["recall_macro"] == pytest.approx(11 / 18)
    assert metrics["f1_macro"] == pytest.approx(11 / 18)
    assert metrics["f1_weighted"] == pytest.approx(5 / 8)
    # one-vs-rest pairs ranked correctly: a 14 of 15, b 11 of 12, c 14 of 15
    assert metrics["roc_auc"] == pytest.approx((14 / 15 + 11 / 12 + 14 / 15) / 3)
    assert roc["classes"]["b"]["auc"] == pytest.approx(11 / 12)
    assert set(roc["classes"]) == set(THREE) and roc["classes"]["a"]["tpr"][-1] == 1.0
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics  # metrics.jsonl-ready


def test_confusion_matrix_rows_are_true_classes():
    # two true "a" and one true "b", all predicted "b": column b holds them, row a has two
    metrics, _ = classification_metrics([0, 0, 1], [[0.1, 0.8, 0.1]] * 3, THREE)
    assert metrics["confusion_matrix"] == [[0, 2, 0], [0, 1, 0], [0, 0, 0]]
    assert metrics["per_class"]["c"]["support"] == 0
    assert metrics["roc_auc"] is None  # class c is not in the eval labels: undefined


def test_binary_runs_gain_per_class_and_confusion_matrix():
    labels = [1, 1, 1, 0, 0, 0, 0, 1]
    probs = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1, 0.4, 0.7]
    metrics, roc = classification_metrics(labels, probs)
    assert metrics["confusion_matrix"] == [[3, 1], [1, 3]]  # TN FP / FN TP
    assert metrics["per_class"]["negative"] == pytest.approx(
        {"precision": 3 / 4, "recall": 3 / 4, "f1": 3 / 4, "support": 4})
    columns = np.stack([1 - np.asarray(probs), probs], axis=1)  # both columns: same metrics
    assert classification_metrics(labels, columns) == (metrics, roc)


def test_columns_follow_the_class_count():
    from lorasent_tui.core.records import (METRIC_COLUMNS, MULTICLASS_METRIC_COLUMNS,
                                           metric_columns, row_classes)

    assert metric_columns(2) == METRIC_COLUMNS
    headers = [c.header for c in metric_columns(3)]
    assert headers == ["Train loss", "Val loss", "Acc", "Prec", "Recall", "Macro-F1", "W-F1", "AUC"]
    assert metric_columns(5) == MULTICLASS_METRIC_COLUMNS
    metrics, _ = classification_metrics(THREE_LABELS, THREE_PROBS, THREE)
    assert row_classes(metrics) == 3
    assert row_classes({"epoch": 1, "accuracy": 0.5}) == 2  # a row written before classes
