"""Per-epoch classification metrics with scikit-learn (the hub-loaded `evaluate` metrics fail offline)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.calibration import expected_calibration_error
from lorasent_tui.core.labels import LABEL_NAMES

ROC_MAX_POINTS = 200
# A binary run predicts positive from this P(positive) on, unless the run saved its own threshold.
DEFAULT_THRESHOLD = 0.5


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


def classification_metrics(
    labels: Sequence[int], probs: Any, names: Sequence[str] = LABEL_NAMES, threshold: float = DEFAULT_THRESHOLD,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An epoch's metrics and ROC curves, for ``probs`` of every class (one row per text) or,
    for binary runs, P(positive) per text.

    Binary: accuracy and the positive class's precision, recall, F1, TPR, FPR and ROC AUC
    (predicted positive at ``threshold``), and the curve as ``{"fpr": [...], "tpr": [...]}``.
    More classes: accuracy, macro precision/recall/F1, weighted F1 and the one-vs-rest macro
    ROC AUC (``roc_auc``) of the most probable class, and a curve per class as
    ``{"classes": {name: {"fpr", "tpr", "auc"}}}``. Always ``per_class`` ({name: {precision,
    recall, f1, support}}), ``confusion_matrix`` (rows: true class, columns: predicted, in
    class order) and ``ece``, the expected calibration error (core/calibration.py) of the
    probabilities, whatever the threshold.

    An AUC is undefined (None: null in the run's files, "–" on screen) where a class is missing
    from ``labels``: never a number that could pass for a measurement. Precision and recall
    without predicted or actual members are 0 (scikit-learn's zero_division=0).
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


    y_true = np.asarray(labels, dtype=int)
    scores = np.asarray(probs, dtype=float)
    ece = expected_calibration_error(y_true, scores)
    n_classes = len(names)
    if n_classes == 2 and scores.ndim == 1:
        scores = np.column_stack([1 - scores, scores])
    y_pred = decided_classes(scores, threshold)
    if n_classes == 2:
        scores = scores[:, 1]
    classes = list(range(n_classes))
    matrix = confusion_matrix(y_true, y_pred, labels=classes)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, average=None, zero_division=0)
    details = {
        "per_class": {name: {"precision": float(precision[k]), "recall": float(recall[k]),
                             "f1": float(f1[k]), "support": int(support[k])}
                      for k, name in enumerate(names)},
        "confusion_matrix": matrix.tolist(),
        "ece": ece,
    }
    accuracy = float(accuracy_score(y_true, y_pred))
    if n_classes == 2:
        metrics, roc = binary_metrics(y_true, scores, matrix, precision[1], recall[1], f1[1])
        return {"accuracy": accuracy, **metrics, **details}, roc
    curves = {name: one_vs_rest_curve(y_true == k, scores[:, k]) for k, name in enumerate(names)}
    aucs = [curve["auc"] for curve in curves.values()]
    metrics = {
        "accuracy": accuracy,
        "precision_macro": float(precision.mean()), "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "f1_weighted": float(precision_recall_fscore_support(
            y_true, y_pred, labels=classes, average="weighted", zero_division=0)[2]),
        "roc_auc": None if None in aucs else float(np.mean(aucs)),
    }
    return {**metrics, **details}, {"classes": curves}


def binary_metrics(y_true: np.ndarray, scores: np.ndarray, matrix: np.ndarray, precision: float,
                   recall: float, f1: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The positive class's rates, AUC and ROC curve (the binary metrics of every release)."""
    (tn, fp), (fn, tp) = matrix.tolist()
    curve = one_vs_rest_curve(y_true == 1, scores)
    metrics = {
        "precision": float(precision), "recall": float(recall), "f1": float(f1),
        "tpr": tp / (tp + fn) if tp + fn else 0.0, "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "roc_auc": curve["auc"],
    }
    return metrics, {"fpr": curve["fpr"], "tpr": curve["tpr"]}


def one_vs_rest_curve(is_class: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """One class's ROC curve (thinned) and AUC; no curve and a None AUC without both sides."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if is_class.all() or not is_class.any():
        return {"fpr": [], "tpr": [], "auc": None}  # a diagonal would read as a measured chance level
    fpr, tpr, _ = roc_curve(is_class, scores)
    xs, ys = thin_curve(fpr, tpr)
    return {"fpr": xs, "tpr": ys, "auc": float(roc_auc_score(is_class, scores))}

def decided_classes(probs: Any, threshold: float | None = None) -> np.ndarray:
    """Each row's predicted class: with two classes the positive (second) one when
    P(positive) >= ``threshold`` (0.5 without one), else the most probable class."""
    probs = np.asarray(probs, dtype=float)
    if not len(probs):
        return np.zeros(0, dtype=int)
    if probs.shape[1] == 2:
        cut = DEFAULT_THRESHOLD if threshold is None else threshold
        return (probs[:, 1] >= cut).astype(int)
    return probs.argmax(axis=1)
