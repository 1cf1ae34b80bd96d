"""Decision threshold of binary runs: the three operating points on hand-made arrays, the
metrics there, and how a run saves and uses its choice."""

from __future__ import annotations

import pytest

from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.metrics import classification_metrics
from lorasent_tui.core.threshold import POINT_KEYS, choose_threshold, metrics_at

NAMES = ["negative", "positive"]
# Sorted by score: .9+ .7+ .6- .55+ .45- .4+ .3- .1-  ("+": positive). Cutting below the k-th:
#   k:   1     2     3     4     5     6     7     8
# TPR: .25   .5    .5    .75   .75   1     1     1
# FPR: 0     0     .25   .25   .5    .5    .75   1
# J:   .25   .5    .25   .5    .25   .5    .25   0      (Youden: k = 2, 4, 6; the first wins)
# F1:  .4    .667  .571  .75   .667  .8    .727  .667   (max F1: k = 6)
LABELS = [0, 0, 0, 0, 1, 1, 1, 1]
SCORES = [0.1, 0.3, 0.45, 0.6, 0.4, 0.55, 0.7, 0.9]


def test_youden_picks_the_highest_of_the_best_j_points():
    threshold = choose_threshold(LABELS, SCORES, "youden")
    assert threshold == pytest.approx((0.7 + 0.6) / 2)
    point = metrics_at(LABELS, SCORES, threshold, NAMES)
    assert point["tpr"] == 0.5 and point["fpr"] == 0.0 and point["precision"] == 1.0


def test_max_f1_picks_the_best_f1_point():
    threshold = choose_threshold(LABELS, SCORES, "f1")
    assert threshold == pytest.approx((0.4 + 0.3) / 2)
    assert metrics_at(LABELS, SCORES, threshold, NAMES)["f1"] == pytest.approx(0.8)


@pytest.mark.parametrize("max_fpr, cut, tpr", [(0.05, (0.7 + 0.6) / 2, 0.5), (0.3, 0.5, 0.75),
                                               (1.0, 0.1, 1.0)])
def test_target_fpr_takes_the_largest_tpr_within_it(max_fpr, cut, tpr):
    threshold = choose_threshold(LABELS, SCORES, "fpr", max_fpr)
    assert threshold == pytest.approx(cut)
    point = metrics_at(LABELS, SCORES, threshold, NAMES)
    assert point["fpr"] <= max_fpr and point["tpr"] == tpr


def test_no_point_within_the_target_predicts_nothing_positive():
    threshold = choose_threshold([1, 0, 1], [0.2, 0.9, 0.1], "fpr", 0.0)
    assert threshold > 0.9
    assert metrics_at([1, 0, 1], [0.2, 0.9, 0.1], threshold, NAMES)["tpr"] == 0.0


def test_metrics_at_a_point_are_those_of_classification_metrics():
    threshold = choose_threshold(LABELS, SCORES, "f1")
    full, _roc = classification_metrics(LABELS, SCORES, NAMES, threshold=threshold)
    assert metrics_at(LABELS, SCORES, threshold, NAMES) == {k: full[k] for k in POINT_KEYS}
    two_columns = [[1 - s, s] for s in SCORES]
    assert metrics_at(LABELS, two_columns, threshold, NAMES) == metrics_at(LABELS, SCORES, threshold, NAMES)


def test_bad_choices_are_one_line_errors():
    with pytest.raises(LorasentError, match="unknown threshold method"):
        choose_threshold(LABELS, SCORES, "best")
    with pytest.raises(LorasentError, match="max-fpr"):
        choose_threshold(LABELS, SCORES, "fpr", 5)
    with pytest.raises(RunError, match="one class"):
        choose_threshold([1, 1], [0.2, 0.8], "f1")
