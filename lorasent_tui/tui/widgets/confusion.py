"""One epoch's confusion matrix (counts and row percentages) beside its per-class metrics.

The data is an epoch row of metrics.jsonl: ``confusion_matrix`` (rows: true class, columns:
predicted, in the run's class order) and ``per_class`` (``{name: {precision, recall, f1,
support}}``, in the same order). Runs saved before multi-class support have neither.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from lorasent_tui.core.display import format_metric

NOT_RECORDED = "not recorded for this run (it was saved before they were)"
DIAGONAL_STYLE = "bold reverse"  # correct predictions; reverse reads on every theme
MAX_NAME = 12  # a longer class name ends in "…" so the matrix keeps its shape


def short_name(name: str) -> str:
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"


def recorded_matrix(row: dict[str, Any] | None) -> tuple[list[str], list[list[int]]] | None:
    """(class names, matrix) of an epoch row, None when the row has no usable matrix."""
    matrix = (row or {}).get("confusion_matrix")
    if not isinstance(matrix, list) or not matrix or any(
            not isinstance(r, list) or len(r) != len(matrix) for r in matrix):
        return None
    per_class = (row or {}).get("per_class")
    names = list(per_class) if isinstance(per_class, dict) else []
    if len(names) != len(matrix):
        names = [str(k) for k in range(len(matrix))]
    return names, matrix


def matrix_table(names: list[str], matrix: list[list[int]]) -> Table:
    """Counts and the share of each true class's reviews; the diagonal (correct) marked."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), pad_edge=False,
                  title="true ↓ · predicted →", title_justify="left")
    table.add_column("", style="bold")
    for name in names:
        table.add_column(short_name(name), justify="right")
    for k, (name, counts) in enumerate(zip(names, matrix)):
        total = sum(counts)
        cells = []
        for j, count in enumerate(counts):
            share = f"{100 * count / total:.0f}%" if total else "–"
            cells.append(Text(f"{count} {share:>4}", style=DIAGONAL_STYLE if j == k else ""))
        table.add_row(short_name(name), *cells)
    return table


def per_class_table(per_class: dict[str, Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), pad_edge=False, title="per class",
                  title_justify="left")
    for header in ("Class", "Prec", "Recall", "F1", "Support"):
        table.add_column(header, justify="left" if header == "Class" else "right")
    for name, values in per_class.items():
        values = values if isinstance(values, dict) else {}
        support = values.get("support")
        table.add_row(short_name(name), *(format_metric(values.get(key), 3)
                                           for key in ("precision", "recall", "f1")),
                      "–" if support is None else str(support))
    return table


def confusion_renderable(row: dict[str, Any] | None, heading: str) -> RenderableType:
    """What ``ConfusionView`` shows for epoch ``row`` under ``heading`` (which epoch it is)."""
    if row is None:
        return Text("Confusion matrix: no epoch yet.", style="dim italic")
    recorded = recorded_matrix(row)
    if recorded is None:
        return Text(f"{heading}: confusion matrix and per-class metrics {NOT_RECORDED}.",
                    style="dim italic")
    names, matrix = recorded
    parts: list[RenderableType] = [matrix_table(names, matrix)]
    if isinstance(row.get("per_class"), dict):
        parts.append(per_class_table(row["per_class"]))
    return Group(Text(heading, style="bold"), Columns(parts, padding=(0, 4)))


class ConfusionView(Static):
    """An epoch's confusion matrix and per-class table; side by side where they fit."""

    DEFAULT_CSS = """
    ConfusionView { height: auto; }
    """

    row: dict[str, Any] | None = None  # the epoch shown
    heading = ""

    def show(self, row: dict[str, Any] | None, heading: str) -> None:
        self.row, self.heading = row, heading
        self.update(confusion_renderable(row, heading))
