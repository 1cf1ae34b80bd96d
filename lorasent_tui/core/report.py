"""A run's curves as one PNG: losses, classification metrics, the best epoch's ROC curve (one per
class for more than two classes) and its confusion matrix (rows recorded since multi-class
support have one).

matplotlib is imported only here, and only its object API with the Agg canvas is used (no
pyplot, no global backend switch), so drawing is safe from a worker thread of the TUI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.fsutil import atomic_write
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.records import METRIC_NAMES
from lorasent_tui.core.results import held_out_result, summary_line
from lorasent_tui.core.store import Run, RunStore

REPORT_NAME = "report.png"
LOSS_SERIES = ("train_loss", "eval_loss")
METRIC_SERIES = ("accuracy", "precision", "recall", "f1")
MULTICLASS_METRIC_SERIES = ("accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_weighted")


def _series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    points = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in points], [float(p[1]) for p in points]


def _draw(run: Run, rows: list[dict], roc: dict[str, Any], best: int) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    config = run.config()
    names = run_label_names(config.labels)
    best_row = next((r for r in rows if r["epoch"] == best), {})
    matrix = best_row.get("confusion_matrix")
    panels = 4 if matrix else 3
    figure = Figure(figsize=(16 + 5 * (panels - 3), 5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    loss_ax, metric_ax, roc_ax, *matrix_ax = figure.subplots(1, panels)
    series = METRIC_SERIES if len(names) == 2 else MULTICLASS_METRIC_SERIES

    for key, style in zip(LOSS_SERIES, ("o-", "s-")):
        xs, ys = _series(rows, key)
        loss_ax.plot(xs, ys, style, label=METRIC_NAMES[key])
    loss_ax.set(title="Loss per epoch", xlabel="Epoch", ylabel="Cross-entropy loss")

    for key in series:
        xs, ys = _series(rows, key)
        metric_ax.plot(xs, ys, "o-", label=METRIC_NAMES[key])
    metric_ax.set(title="Validation metrics per epoch", xlabel="Epoch", ylabel="Score")
    low = min([v for key in series for v in _series(rows, key)[1]] or [0.0])
    metric_ax.set_ylim(max(-0.02, min(low, 0.5) - 0.05), 1.02)

    for ax in (loss_ax, metric_ax):
        ax.axvline(best, color="grey", linestyle=":", linewidth=1, label=f"Best epoch ({best})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")

    curve = roc.get(str(best)) or {}
    roc_ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="Chance")
    per_class = {name: c for name, c in (curve.get("classes") or {}).items() if c.get("fpr")}
    if per_class:
        for name, one in per_class.items():
            label = f"{name} (AUC = {format_metric(one.get('auc'))})"
            roc_ax.plot(one["fpr"], one["tpr"], "-", linewidth=1.5, label=label)
    elif curve.get("fpr") and curve.get("tpr"):
        auc = curve.get("auc")
        if auc is None:
            auc = best_row.get("roc_auc")
        label = f"Epoch {best} (AUC = {format_metric(auc)})"
        roc_ax.plot(curve["fpr"], curve["tpr"], "-", linewidth=2, label=label)
    else:
        roc_ax.text(0.5, 0.5, f"no ROC data for epoch {best}", ha="center", va="center")
    roc_ax.set(title=f"ROC curve (best epoch {best})", xlabel="False positive rate",
               ylabel="True positive rate", xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    roc_ax.grid(True, alpha=0.3)
    roc_ax.legend(loc="lower right", fontsize="small")
    if matrix:
        _draw_confusion(matrix_ax[0], matrix, names, best)

    model = config.model.rstrip("/").split("/")[-1]
    title = f"{run.run_id} — {model} on {config.dataset}, {len(rows)}/{config.epochs} epochs"
    test = held_out_result(run.path)  # shown apart: the curves are validation only
    figure.suptitle(title if test is None else f"{title}\n{summary_line(test, 'Test, best epoch')}")
    return figure


def _draw_confusion(ax: Any, matrix: list[list[int]], names: tuple[str, ...], best: int) -> None:
    """Counts and row percentages (of each true class), rows true, columns predicted."""
    totals = [sum(row) or 1 for row in matrix]
    shares = [[count / total for count in row] for row, total in zip(matrix, totals)]
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, f"{count}\n{shares[i][j]:.0%}", ha="center", va="center",
                    color="white" if shares[i][j] > 0.5 else "black", fontsize="small",
                    fontweight="bold" if i == j else "normal")
    ticks = range(len(names))
    ax.set_xticks(ticks, names, rotation=30 if len(names) > 3 else 0)
    ax.set_yticks(ticks, names)
    ax.set(title=f"Confusion matrix (best epoch {best})", xlabel="Predicted class",
           ylabel="True class")


def write_report(ref: str, runs_dir: Path | str = "runs", output: Path | str | None = None) -> Path:
    """Draw run ``ref``'s curves to a PNG (default ``<run>/report.png``); returns its path."""
    run = RunStore(runs_dir).get(ref)
    rows = sorted(run.metrics(), key=lambda r: r["epoch"])
    if not rows:
        raise RunError(f"run {run.run_id} has no finished epoch yet; nothing to plot")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LorasentError("report needs matplotlib; pip install matplotlib") from None
    best = int(run.best_row(rows)["epoch"])
    figure = _draw(run, rows, run.roc(), best)

    path = run.path / REPORT_NAME if output is None else Path(output).expanduser()
    if path.is_dir():
        path = path / REPORT_NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda handle: figure.savefig(handle, format="png"))
    except OSError as exc:
        raise LorasentError(f"cannot write report to {path}: {exc.strerror or exc}") from None
    return path
