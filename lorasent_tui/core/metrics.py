"""Per-epoch classification metrics with scikit-learn (the hub-loaded `evaluate` metrics fail offline)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

ROC_MAX_POINTS = 200


def thin_curve(fpr: np.ndarray, tpr: np.ndarray, max_points: int = ROC_MAX_POINTS) -> tuple[list, list]:
    """Keep the curve's shape with at most ``max_points`` points (ends always kept)."""
    if len(fpr) <= max_points:
        return fpr.tolist(), tpr.tolist()
    index = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
    return fpr[index].tolist(), tpr[index].tolist()


def preload() -> None:
    """Import scikit-learn's metrics now: about 2 s of import on a slow CPU, better spent while
    the model loads than at the first evaluation (where it stalls a UI sharing the process)."""
    import sklearn.metrics  # noqa: F401


def classification_metrics(labels: Sequence[int], positive_probs: Sequence[float],
                           threshold: float = 0.5) -> tuple[dict[str, float | None], dict[str, list[float]]]:
    """Accuracy, precision, recall, F1, TPR, FPR and ROC AUC, plus the ROC curve's points.

    With one class present the ROC AUC is undefined and reported as None (null in the run's
    files, "–" on screen), never as a number that could pass for a measurement. Precision and
    recall without predicted or actual positives are 0 (scikit-learn's zero_division=0).
    """
    from sklearn.metrics import (accuracy_score, confusion_matrix, precision_recall_fscore_support,
                                 roc_auc_score, roc_curve)

    y_true = np.asarray(labels, dtype=int)
    scores = np.asarray(positive_probs, dtype=float)
    y_pred = (scores >= threshold).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", pos_label=1, zero_division=0)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    tpr = tp / (tp + fn) if tp + fn else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    both_classes = len(np.unique(y_true)) == 2
    auc = float(roc_auc_score(y_true, scores)) if both_classes else None
    if both_classes:
        curve_fpr, curve_tpr, _ = roc_curve(y_true, scores)
        xs, ys = thin_curve(curve_fpr, curve_tpr)
    else:
        xs, ys = [], []  # no curve either: a diagonal would read as a measured chance level
    metrics = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision), "recall": float(recall), "f1": float(f1),
        "tpr": float(tpr), "fpr": float(fpr), "roc_auc": auc,
    }
    return metrics, {"fpr": xs, "tpr": ys}
