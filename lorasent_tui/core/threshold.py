"""The decision threshold of a binary run: an operating point chosen on validation predictions.

A binary run predicts its positive class (the second class) when P(positive) >= the threshold,
0.5 unless the run has a ``threshold.json``. Three ways to choose it, each on the validation
predictions of the best epoch:

- ``f1``: the threshold with the highest F1 of the positive class;
- ``youden``: the highest Youden's J = TPR - FPR (the ROC point furthest above the diagonal);
- ``fpr``: the highest TPR whose FPR is at most a target (``max_fpr``, e.g. 0.05).

Candidates are the distinct validation scores (scikit-learn's ROC curve, every point kept);
among equally good ones the highest threshold wins. The saved value lies midway between the
lowest score predicted positive and the highest predicted negative, so a probability computed
again (in another precision, or from rounded saved values) lands on the same side.
The metrics at a threshold are core/metrics.classification_metrics's, so there is one definition.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.run_setting import RunSetting

THRESHOLD_FILE = "threshold.json"
METHODS = ("f1", "youden", "fpr")
DEFAULT_MAX_FPR = 0.05
# What an operating point is judged by, in display order.
POINT_KEYS = ("precision", "recall", "f1", "tpr", "fpr", "accuracy")


def method_name(method: str, max_fpr: float | None = DEFAULT_MAX_FPR) -> str:
    """The method in a few words, for tables and titles."""
    if method == "fpr":
        return f"FPR ≤ {max_fpr:.0%}" if max_fpr is not None else "FPR target"
    return {"f1": "max F1", "youden": "Youden's J", "default": "default 0.5"}.get(method, method)


def choose_threshold(labels: Sequence[int], scores: Sequence[float], method: str,
                     max_fpr: float = DEFAULT_MAX_FPR) -> float:
    """The threshold on P(positive) that ``method`` picks for these validation predictions."""
    from sklearn.metrics import roc_curve

    if method not in METHODS:
        raise LorasentError(f"unknown threshold method {method!r}: choose {', '.join(METHODS)}")
    if method == "fpr" and not 0 <= max_fpr <= 1:
        raise LorasentError(f"--max-fpr {max_fpr}: choose a rate between 0 and 1 (e.g. 0.05)")
    is_positive = np.asarray(labels, dtype=int) == 1
    scores = np.asarray(scores, dtype=float)
    if is_positive.all() or not is_positive.any():
        raise RunError("the validation predictions hold one class only; a threshold needs both")
    # Index 0 predicts nothing positive (its threshold is above every score); index k > 0
    # predicts positive every score >= the k-th highest distinct score.
    fpr, tpr, cuts = roc_curve(is_positive, scores, drop_intermediate=False)
    if method == "youden":
        index = int(np.argmax(tpr - fpr))
    elif method == "f1":
        positives, negatives = is_positive.sum(), (~is_positive).sum()
        true_pos, false_pos = tpr * positives, fpr * negatives
        index = int(np.argmax(2 * true_pos / (true_pos + false_pos + positives)))
    else:
        index = int(np.flatnonzero(fpr <= max_fpr + 1e-12)[-1])  # fpr[0] == 0 always qualifies
    if index == 0:
        return float(np.nextafter(scores.max(), np.inf))
    if index + 1 < len(cuts):
        return float((cuts[index] + cuts[index + 1]) / 2)
    return float(cuts[index])


def metrics_at(labels: Sequence[int], scores: Any, threshold: float,
               names: Sequence[str]) -> dict[str, float]:
    """Precision, recall, F1, TPR, FPR and accuracy of the positive class at ``threshold``."""
    from lorasent_tui.core.metrics import classification_metrics

    metrics, _roc = classification_metrics(labels, scores, names, threshold=threshold)
    return {key: metrics[key] for key in POINT_KEYS}


# A run without the file decides at 0.5 (metrics.DEFAULT_THRESHOLD); clear_threshold goes back to it.
THRESHOLD = RunSetting(THRESHOLD_FILE, "threshold", 0.0, 1.0 + 1e-9,
                       "choose again with: lorasent-tui threshold {run} --method f1 (or --clear)")
read_threshold = THRESHOLD.read
saved_threshold = THRESHOLD.value
write_threshold = THRESHOLD.write
clear_threshold = THRESHOLD.clear
