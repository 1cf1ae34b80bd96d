"""What a run's per-epoch records mean, defined once: the metric columns and the best epoch.

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


# Every per-epoch value after "epoch", in table order.
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
METRIC_NAMES: dict[str, str] = {c.key: c.name for c in METRIC_COLUMNS}


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
