"""Run detail and comparison: metrics rows and charts of one or more runs, overlaid, and their
settings (v shows them instead of the charts; s loads them into the Train form)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.display import format_metric
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.records import best_row, shared_metric_columns
from lorasent_tui.core.results import ScoredResult, evaluations, held_out_result, summary_line
from lorasent_tui.core.store import RunStore, RunSummary
from lorasent_tui.tui.evaluation_line import EvaluationLine
from lorasent_tui.tui.messages import RunReady, UseSettings
from lorasent_tui.tui.run_screen import RunScreen
from lorasent_tui.tui.scoring_line import ScoringLine
from lorasent_tui.tui.widgets.charts import LossChart, RocChart, ScoreChart
from lorasent_tui.tui.widgets.confusion import ConfusionView
from lorasent_tui.tui.widgets.decision_view import DecisionView
from lorasent_tui.tui.widgets.metrics_table import MetricsTable, PseudoLabelLine


@dataclass
class RunData:
    summary: RunSummary
    metrics: list[dict[str, Any]]
    roc: dict[str, dict[str, Any]]
    config: TrainConfig
    test: ScoredResult | None = None  # the best epoch on the test split (--test-size)
    evaluations: list[ScoredResult] = field(default_factory=list)  # `evaluate` on other data

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    @property
    def best_epoch(self) -> int | None:
        best = self.best_row()
        return None if best is None else int(best["epoch"])

    def best_row(self) -> dict[str, Any] | None:
        return best_row(self.metrics, self.summary.best_epoch)

    @property
    def class_names(self) -> tuple[str, ...]:
        return run_label_names(self.config.labels)


def classes_note(runs: list[RunData], names: dict[str, str]) -> str:
    """A warning line when compared runs have different classes: their metrics and curves
    are not like for like ("" when the classes are the same)."""
    if len({run.class_names for run in runs}) < 2:
        return ""
    each = "; ".join(f"{names[run.run_id]}: {', '.join(run.class_names)}" for run in runs)
    return (f"⚠ These runs have different classes ({each}): only the metrics they share are side "
            "by side, and their ROC curves are not overlaid.")


def setting_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def settings_rows(configs: list[TrainConfig]) -> list[tuple[str, list[str]]]:
    """(setting, each config's value as shown) for every setting, in config.json's order."""
    values = [config.to_dict() for config in configs]
    return [(name, [setting_text(v[name]) for v in values]) for name in values[0]]


def differing_settings(configs: list[TrainConfig]) -> list[tuple[str, list[str]]]:
    return [(name, values) for name, values in settings_rows(configs) if len(set(values)) > 1]


def load_run_data(runs_dir: Path, run_id: str) -> RunData:
    """Read one run (raises RunError for a damaged one); called in a thread worker."""
    run = RunStore(runs_dir).get(run_id)
    return RunData(summary=run.summary(), metrics=run.metrics(), roc=run.roc(), config=run.config(),
                   test=held_out_result(run.path), evaluations=evaluations(run.path))


def scored_lines(run: RunData, prefix: str = "") -> list[str]:
    """The test split and the evaluations on other data, each apart from the validation rows."""
    lines = [prefix + summary_line(run.test, "Test")] if run.test is not None else []
    for result in run.evaluations:
        split = f" ({result.meta['split']})" if result.meta.get("split") else ""
        date = str(result.meta.get("date", ""))[:16].replace("T", " ")
        lines.append(f"{prefix}Evaluation {result.name}: {result.meta.get('dataset')}{split}, "
                     f"n={result.size:,}, accuracy {format_metric(result.accuracy)}, {date}")
    return lines


class RunDetailScreen(RunScreen):
    FRAME_ID = "detail"
    DEFAULT_CSS = """
    RunDetailScreen #compare-table { height: auto; max-height: 16; margin-bottom: 1; }
    RunDetailScreen #detail-charts { height: 1fr; min-height: 10; }
    RunDetailScreen #detail-settings { height: 1fr; display: none; }
    RunDetailScreen.-settings #detail-charts { display: none; }
    RunDetailScreen.-settings #detail-decision { display: none; }
    RunDetailScreen.-settings #detail-settings { display: block; }
    RunDetailScreen #detail-classes { height: 1fr; display: none; }
    RunDetailScreen.-classes #detail-charts { display: none; }
    RunDetailScreen.-classes #detail-classes { display: block; }
    RunDetailScreen.-settings #detail-classes { display: none; }
    /* Narrow: the view scrolls instead of squeezing the charts out of sight. */
    RunDetailScreen.-narrow > #detail { overflow-y: auto; }
    RunDetailScreen.-narrow #detail-charts { height: 14; }
    RunDetailScreen.-narrow #detail-settings { height: auto; }
    RunDetailScreen.-narrow #detail-classes { height: auto; }
    """

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="detail-close"),
        Binding("p", "predict", "Predict", id="detail-predict"),
        Binding("v", "toggle_settings", "Settings", id="detail-toggle-settings"),
        Binding("m", "toggle_classes", "Matrix", id="detail-toggle-classes"),
        Binding("s", "use_settings", "Use settings", id="detail-use-settings"),
        Binding("t", "cycle_threshold", "Threshold", id="detail-threshold"),
        Binding("x", "errors", "Errors", id="detail-errors"),
        # Not in the footer (it has no room left at 80 columns): the evaluation's line names them.
        Binding("e", "evaluate", "Evaluate", id="detail-evaluate", show=False),
        # A modal screen: the app's own ctrl+t does not reach here.
        Binding("ctrl+t", "stop_evaluation", "Stop", id="detail-stop", show=False),
    ]

    def __init__(self, runs: list[RunData]) -> None:
        super().__init__()
        self.runs = runs
        self.compare = len(runs) > 1
        # Short names keep chart legends readable: A, B, ...
        self.names = {r.run_id: (chr(ord("A") + i) if self.compare else "") for i, r in enumerate(runs)}
        self.roc_epochs = {r.run_id: r.best_epoch for r in runs}
        self.same_classes = len({r.class_names for r in runs}) == 1

    def compose_frame(self) -> ComposeResult:
        yield Static(self._title(), id="detail-title", classes="run-title")
        if self.compare:
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield MetricsTable(show_run=self.compare, id="detail-metrics")
        if not self.compare:
            yield PseudoLabelLine(id="detail-pseudo-labels")
        with Horizontal(id="detail-charts"):
            yield LossChart(id="detail-loss")
            yield ScoreChart(id="detail-score")
            yield RocChart(id="detail-roc")
        with VerticalScroll(id="detail-classes"):  # m: the highlighted epoch's classes
            yield ConfusionView()
        if not self.compare:
            yield DecisionView(self.runs[0].summary.path, id="detail-decision")
            yield EvaluationLine(self.runs[0].summary.path, id="detail-evaluation")
        yield DataTable(id="detail-settings", cursor_type="row", zebra_stripes=True)

    def _title(self) -> str:
        lines = []
        for run in self.runs:
            s = run.summary
            name = f"{self.names[run.run_id]} = " if self.compare else ""
            lines.append(f"{name}{s.run_id} · {s.model} on {s.dataset} · {s.state} · "
                         f"{s.epochs_done}/{s.epochs} epochs · best epoch {run.best_epoch or '–'}")
            lines += scored_lines(run, "  ")
        note = classes_note(self.runs, self.names)
        return "\n".join(lines + [note] if note else lines)

    def on_mount(self) -> None:
        table = self.query_one(MetricsTable)
        table.show_columns(shared_metric_columns(len(run.class_names) for run in self.runs))
        for run in self.runs:
            table.set_rows(run.metrics, run.best_epoch, run=self.names[run.run_id])
        if self.compare:
            self._fill_compare_table()
            self._add_differing_settings()
        else:
            self.query_one(PseudoLabelLine).show(self.runs[0].metrics)
        self._fill_settings_table()
        self._draw_charts()
        # Start on the best epoch so the highlight (which picks the ROC epoch) agrees with it.
        first = self.runs[0]
        best_index = table.index_of(self.names[first.run_id], first.best_epoch)
        if best_index is not None:
            table.move_cursor(row=best_index)
        self._show_classes(first.run_id, first.best_row())
        table.focus(scroll_visible=False)  # narrow: the view opens at its top, the title

    def _fill_compare_table(self) -> None:
        """Best-epoch metrics of every run side by side, one metric per row."""
        table = self.query_one("#compare-table", DataTable)
        table.add_column("Metric (best epoch)")
        for run in self.runs:
            table.add_column(f"{self.names[run.run_id]} (epoch {run.best_epoch or '–'})")
        for column in self.query_one(MetricsTable).metric_columns:
            table.add_row(column.name, *(format_metric((run.best_row() or {}).get(column.key))
                                         for run in self.runs))

    def _draw_charts(self) -> None:
        loss, score, roc = [], [], []
        for run in self.runs:
            prefix = f"{self.names[run.run_id]} " if self.compare else ""
            loss += self.query_one(LossChart).show_losses(run.metrics, prefix=prefix)
            score += ScoreChart.score_series(run.metrics, prefix=prefix)
            epoch = self.roc_epochs.get(run.run_id)
            if self.same_classes:
                roc += RocChart.roc_series(run.roc.get(str(epoch)), f"{prefix}epoch {epoch}")
        self.query_one(LossChart).set_series(loss)
        self.query_one(ScoreChart).set_series(score)
        self.query_one(RocChart).set_series(roc)

    @on(DataTable.RowHighlighted, "#detail-metrics")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        picked = self.query_one(MetricsTable).epoch_at(event.cursor_row)
        if picked is None:
            return
        name, epoch = picked
        run_id = next((rid for rid, n in self.names.items() if n == name), None)
        self._show_classes(run_id, self.query_one(MetricsTable).row_at(event.cursor_row))
        if run_id is not None and self.roc_epochs.get(run_id) != epoch:
            self.roc_epochs[run_id] = epoch
            self._draw_charts()

    def _show_classes(self, run_id: str | None, row: dict[str, Any] | None) -> None:
        """The confusion matrix and per-class table of ``row``, an epoch of run ``run_id``."""
        run = next((r for r in self.runs if r.run_id == run_id), None)
        if run is None:
            return
        name = f"{self.names[run.run_id]} · " if self.compare else ""
        epoch = (row or {}).get("epoch")
        best = " ★" if epoch == run.best_epoch else ""
        self.query_one(ConfusionView).show(row, f"{name}epoch {epoch}{best} "
                                                "(highlight another row to see its epoch)")

    def action_toggle_classes(self) -> None:
        self.remove_class("-settings")
        self.toggle_class("-classes")

    # -- settings ------------------------------------------------------------------------
    def _add_differing_settings(self) -> None:
        """Below the metrics of the compare table: the settings that differ, so the cause shows."""
        table = self.query_one("#compare-table", DataTable)
        differing = differing_settings([run.config for run in self.runs])
        table.add_row("Settings that differ" if differing else "Settings: all the same", *[""] * len(self.runs))
        for name, values in differing:
            table.add_row(f"  {name}", *values)

    def _fill_settings_table(self) -> None:
        table = self.query_one("#detail-settings", DataTable)
        table.add_column("Setting")
        for run in self.runs:
            table.add_column(self.names[run.run_id] or run.run_id)
        for name, values in settings_rows([run.config for run in self.runs]):
            differs = self.compare and len(set(values)) > 1
            table.add_row(f"{name} ≠" if differs else name, *values)

    def action_toggle_settings(self) -> None:
        self.toggle_class("-settings")

    def action_cycle_threshold(self) -> None:
        for view in self.query(DecisionView):  # none when comparing
            view.cycle_threshold()

    def action_use_settings(self) -> None:
        if self.compare:
            self.notify("Open a single run to use its settings.", severity="warning")
            return
        run = self.runs[0]
        self.app.post_message(UseSettings(run.config, run.run_id))

    def action_errors(self) -> None:
        if self.compare:
            self.notify("Open a single run to browse its errors.", severity="warning")
            return
        from lorasent_tui.tui.error_browser import ErrorBrowserScreen

        run = self.runs[0]
        self.app.push_screen(ErrorBrowserScreen(run.summary.path, run.run_id))

    def action_evaluate(self) -> None:
        if self.compare:
            self.notify("Open a single run to evaluate it.", severity="warning")
            return
        self.query_one(EvaluationLine).ask()

    def action_stop_evaluation(self) -> None:
        for line in self.query(EvaluationLine):
            line.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_evaluation":  # dimmed unless an evaluation runs
            return any(line.running for line in self.query(EvaluationLine)) or None
        return True

    def on_scoring_line_ended(self, message: ScoringLine.Ended) -> None:
        if message.done:  # the title lists the run's evaluations
            run = self.runs[0]
            run.evaluations = evaluations(run.summary.path)
            self.query_one("#detail-title", Static).update(self._title())

    def action_predict(self) -> None:
        run = self.runs[0] if not self.compare else None
        if run is None:
            self.notify("Open a single run to load it for prediction.", severity="warning")
            return
        self.app.post_message(RunReady(run.run_id, switch_tab=True))
        self.dismiss(None)
