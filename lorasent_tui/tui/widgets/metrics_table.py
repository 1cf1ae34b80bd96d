"""The per-epoch metrics table used live on the Train tab and in run details."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Static

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.pseudo_labels import describe as describe_pseudo_labels
from lorasent_tui.core.records import MetricColumn, metric_columns

BEST_MARK = "★"


def epoch_of(row: dict[str, Any]) -> int:
    try:
        return int(row.get("epoch", 0))
    except (TypeError, ValueError):
        return 0


class MetricsTable(DataTable):
    """One row per evaluated epoch; the best epoch carries a ★.

    With ``show_run`` a leading Run column lets rows of several runs sit together
    (used by the compare view). Rows are redrawn whole on every change: there are
    only a handful, and it keeps the best-epoch mark trivially consistent. The metric
    columns are a binary run's until ``show_columns`` says otherwise.
    """

    DEFAULT_CSS = """
    MetricsTable {
        height: auto;
        max-height: 12;
    }
    """

    def __init__(self, *, show_run: bool = False, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.show_run = show_run
        # (run label, row, best epoch of that run)
        self._rows: list[tuple[str, dict[str, Any], int | None]] = []
        self.metric_columns: tuple[MetricColumn, ...] = metric_columns(2)

    def on_mount(self) -> None:
        self._add_columns()
        self._redraw()

    def _add_columns(self) -> None:
        if self.show_run:
            self.add_column("Run", key="run")
        self.add_column("Epoch", key="epoch")
        for column in self.metric_columns:
            self.add_column(column.header, key=column.key)

    def show_columns(self, columns: tuple[MetricColumn, ...]) -> None:
        """Show these metric columns (``records.metric_columns`` of the run's class count)."""
        if columns == self.metric_columns:
            return
        self.metric_columns = columns
        if self.is_mounted:
            self.clear(columns=True)
            self._add_columns()
            self._redraw()

    def set_rows(self, rows: list[dict[str, Any]], best_epoch: int | None, run: str = "") -> None:
        """Replace the rows of ``run`` (or of the only run)."""
        self._rows = [r for r in self._rows if r[0] != run]
        self._rows += [(run, dict(row), best_epoch) for row in rows]
        self._rows.sort(key=lambda r: (epoch_of(r[1]), r[0]))
        self._redraw()

    def clear_rows(self) -> None:
        self._rows = []
        self._redraw()

    def epoch_at(self, row_index: int) -> tuple[str, int] | None:
        """(run, epoch) of the row at ``row_index`` as displayed."""
        if 0 <= row_index < len(self._rows):
            run, row, _best = self._rows[row_index]
            return run, epoch_of(row)
        return None

    def row_at(self, row_index: int) -> dict[str, Any] | None:
        """The metrics row at ``row_index`` as displayed."""
        return self._rows[row_index][1] if 0 <= row_index < len(self._rows) else None

    def index_of(self, run: str, epoch: int | None) -> int | None:
        for index, (name, row, _best) in enumerate(self._rows):
            if name == run and epoch_of(row) == epoch:
                return index
        return None

    def _redraw(self) -> None:
        if not self.is_mounted or not self.columns:
            return
        self.clear()
        for run, row, best in self._rows:
            epoch = epoch_of(row)
            mark = f"{epoch} {BEST_MARK}" if best is not None and epoch == best else str(epoch)
            cells = [mark] + [format_metric(row.get(column.key)) for column in self.metric_columns]
            if self.show_run:
                cells.insert(0, run)
            self.add_row(*cells, key=f"{run}:{epoch}")


class PseudoLabelLine(Static):
    """A line under a metrics table: each epoch's pseudo-labels; hidden for labels-only runs."""

    def show(self, rows: list[dict[str, Any]]) -> None:
        text = " · ".join(filter(None, (describe_pseudo_labels(row) for row in rows)))
        self.update(text)
        self.display = bool(text)
