"""What a run's per-epoch records mean, defined once: the metric columns (binary, or more
classes) and the best epoch.

The trainer, the run store's summary, the CLI table, the model card, the PNG report and the
app's tables all read these, so a rule changed here changes everywhere at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class MetricColumn:
    key: str  # the key in metrics.jsonl
    header: str  # short, for tables (every column fits at 120 terminal columns)
    name: str  # spelled out, for legends, cards and tooltips


# Every per-epoch value after "epoch" of a binary run, in table order.
METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("train_loss", "Train loss", "Training loss"),
    MetricColumn("eval_loss", "Val loss", "Validation loss"),
    MetricColumn("accuracy", "Acc", "Accuracy"),
    MetricColumn("precision", "Prec", "Precision"),
    MetricColumn("recall", "Recall", "Recall"),
    MetricColumn("f1", "F1", "F1"),
    MetricColumn("tpr", "TPR", "True positive rate"),
    MetricColumn("fpr", "FPR", "False positive rate"),
    MetricColumn("roc_auc", "AUC", "ROC AUC"),
)
METRIC_KEYS: tuple[str, ...] = ("epoch",) + tuple(c.key for c in METRIC_COLUMNS)

# Every per-epoch value of a run with more than two classes: macro averages weigh each class
# the same, the weighted F1 weighs them by their eval rows; the AUC is one-vs-rest, macro.
MULTICLASS_METRIC_COLUMNS: tuple[MetricColumn, ...] = (
    MetricColumn("train_loss", "Train loss", "Training loss"),
    MetricColumn("eval_loss", "Val loss", "Validation loss"),
    MetricColumn("accuracy", "Acc", "Accuracy"),
    MetricColumn("precision_macro", "Prec", "Macro precision"),
    MetricColumn("recall_macro", "Recall", "Macro recall"),
    MetricColumn("f1_macro", "Macro-F1", "Macro F1"),
    MetricColumn("f1_weighted", "W-F1", "Weighted F1"),
    MetricColumn("roc_auc", "AUC", "ROC AUC (one-vs-rest, macro)"),
)
MULTICLASS_METRIC_KEYS: tuple[str, ...] = ("epoch",) + tuple(
    c.key for c in MULTICLASS_METRIC_COLUMNS)
# Per-epoch values of every run that are not table columns: {name: {precision, recall, f1,
# support}}, the confusion matrix (rows: true class, columns: predicted, in class order) and
# the expected calibration error (core/calibration.py; rows before it have none). The tables
# leave ECE out so that they keep fitting 120 columns; the run detail shows it.
DETAIL_KEYS: tuple[str, ...] = ("per_class", "confusion_matrix", "ece")
ECE_COLUMN = MetricColumn("ece", "ECE", "Expected calibration error")

METRIC_NAMES: dict[str, str] = {c.key: c.name
                                for c in MULTICLASS_METRIC_COLUMNS + METRIC_COLUMNS + (ECE_COLUMN,)}


def metric_columns(n_classes: int = 2) -> tuple[MetricColumn, ...]:
    """The table columns of a run with ``n_classes`` classes: every table asks here."""
    return METRIC_COLUMNS if n_classes <= 2 else MULTICLASS_METRIC_COLUMNS


def shared_metric_columns(class_counts: Iterable[int]) -> tuple[MetricColumn, ...]:
    """The columns that runs of these class counts all have, in table order (runs with
    different classes side by side: the losses, accuracy and AUC)."""
    counts = list(class_counts) or [2]
    keys = [{c.key for c in metric_columns(n)} for n in counts]
    return tuple(c for c in metric_columns(counts[0]) if all(c.key in k for k in keys))


def row_classes(row: dict[str, Any]) -> int:
    """The class count of an epoch row (2 for rows written before multi-class runs)."""
    matrix = row.get("confusion_matrix")
    return len(matrix) if isinstance(matrix, list) and matrix else 2


def _rank(row: dict[str, Any]) -> tuple[float, float]:
    """Higher is better: accuracy first, then the lower validation loss breaks ties."""
    accuracy = row.get("accuracy")
    loss = row.get("eval_loss")
    return (float("-inf") if accuracy is None else float(accuracy),
            float("-inf") if loss is None else -float(loss))


def is_better(row: dict[str, Any], best: dict[str, Any] | None) -> bool:
    """Whether epoch ``row`` replaces ``best`` as the run's best epoch (the first wins ties)."""
    return best is None or _rank(row) > _rank(best)


def best_row(rows: Iterable[dict[str, Any]], recorded: int | None = None) -> dict[str, Any] | None:
    """The best epoch's row: the one the run recorded as best if it is there, else by the rule."""
    rows = list(rows)
    if recorded is not None:
        found = next((r for r in rows if r.get("epoch") == recorded), None)
        if found is not None:
            return found
    best = None
    for row in rows:
        if is_better(row, best):
            best = row
    return best
