"""The Train tab's Live view: the training run's epochs, its pseudo-labels, and charts of its
losses, scores and ROC curves.

It keeps what the trainer has reported of the run (epoch rows, ROC curves by epoch, the best
epoch, the loss of each logging window) and draws it; the Classes view beside it shows the epoch
row it picks.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import TabPane

from lorasent_tui.core.events import EpochResult
from lorasent_tui.core.records import best_row, metric_columns
from lorasent_tui.tui.widgets.charts import LossChart, RocChart, ScoreChart
from lorasent_tui.tui.widgets.metrics_table import MetricsTable, PseudoLabelLine, epoch_of

# A plotext figure costs tens of milliseconds of the UI thread: step points are drawn at most
# this often, so keys never queue behind them.
STEP_CHART_INTERVAL_S = 2.0


class LivePane(TabPane):
    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__(title, **kwargs)
        self.rows: list[dict[str, Any]] = []
        self.rocs: dict[int, dict[str, Any]] = {}
        self.best_epoch: int | None = None
        self.step_losses: list[tuple[float, float]] = []  # (fractional epoch, loss)
        self.last_step_chart = 0.0  # time.monotonic() of the last step-loss drawing

    def compose(self) -> ComposeResult:
        yield MetricsTable(id="live-metrics")
        yield PseudoLabelLine(id="pseudo-labels")
        with Horizontal(id="live-charts"):
            yield LossChart(id="loss-chart")
            yield ScoreChart(id="score-chart")
            yield RocChart(id="roc-chart")

    def reset(self) -> None:
        self.rows, self.rocs, self.best_epoch, self.step_losses = [], {}, None, []
        self.query_one(MetricsTable).clear_rows()
        self.query_one(PseudoLabelLine).show(self.rows)

    def show_classes(self, names: tuple[str, ...] | None) -> None:
        """The table's columns for a run of these classes (None: not known yet)."""
        if names is not None:
            self.query_one(MetricsTable).show_columns(metric_columns(len(names)))

    def load(self, rows: list[dict[str, Any]], rocs: dict[int, dict[str, Any]], best_epoch: int | None) -> None:
        """The epochs a resumed run finished before."""
        self.rows = [dict(row) for row in rows]
        self.rocs = dict(rocs)
        self.best_epoch = best_epoch
        self._show_rows()

    def add_epoch(self, result: EpochResult) -> None:
        row = dict(result.metrics)
        epoch = int(row.get("epoch", len(self.rows) + 1))
        # Epochs arrive in order, so rows from this epoch on are stale: a resumed run
        # redoes the epochs after its last checkpoint (metrics.jsonl may list more).
        self.rows = [r for r in self.rows if epoch_of(r) < epoch] + [row]
        self.rocs = {e: roc for e, roc in self.rocs.items() if e < epoch}
        self.rocs[epoch] = {**result.roc, "auc": row.get("roc_auc")}
        self.best_epoch = result.best_epoch
        self._show_rows()

    def _show_rows(self) -> None:
        self.query_one(MetricsTable).set_rows(self.rows, self.best_epoch)
        self.query_one(PseudoLabelLine).show(self.rows)

    def add_step_losses(self, points: tuple[tuple[int, float], ...], epochs_per_step: float) -> None:
        """(global step, loss) points; in epoch units they line up with the epoch points."""
        self.step_losses += [(step * epochs_per_step, loss) for step, loss in points]
        now = time.monotonic()
        if now - self.last_step_chart >= STEP_CHART_INTERVAL_S:
            self.last_step_chart = now
            loss_chart = self.query_one(LossChart)
            loss_chart.set_series(loss_chart.show_losses(self.rows, self.step_losses))

    def draw(self, picked_epoch: int | None = None) -> tuple[dict[str, Any] | None, str]:
        """Every chart, the ROC curves of the picked epoch, else the best; that epoch's row and
        the Classes view's heading for it."""
        loss = self.query_one(LossChart)
        loss.set_series(loss.show_losses(self.rows, self.step_losses))
        self.query_one(ScoreChart).set_series(ScoreChart.score_series(self.rows))
        row = next((r for r in self.rows if epoch_of(r) == picked_epoch), None) or best_row(
            self.rows, self.best_epoch)
        epoch = epoch_of(row) if row else None
        self.query_one(RocChart).set_series(RocChart.roc_series(self.rocs.get(epoch), f"epoch {epoch}"))
        best = " ★ (best)" if epoch == self.best_epoch else ", highlighted on Live"
        return row, f"Epoch {epoch}{best}"
