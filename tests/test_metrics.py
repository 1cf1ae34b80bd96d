import pytest

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


def test_single_class_does_not_crash():
    metrics, roc = classification_metrics([1, 1, 1], [0.9, 0.2, 0.7])
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["roc_auc"] == 0.0 and roc == {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]}


def test_roc_curve_is_thinned():
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 5000).tolist()
    _, roc = classification_metrics(labels, rng.random(5000).tolist())
    assert len(roc["fpr"]) <= 200 and roc["fpr"][-1] == 1.0
