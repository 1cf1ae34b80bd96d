"""The Sweeps tab: which settings vary (the rest as on the Train form), start/stop a search,
a live leaderboard and its charts; a trial's run opens, and its settings go to the Train form.

The sweep runs in a thread worker through ``Services.sweeper`` and reports through
``SweepBridge`` (post_message); every UI change happens here, on the event loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.display import format_duration, format_metric
from lorasent_tui.core.errors import ConfigError, describe_exception
from lorasent_tui.core.events import EpochResult
from lorasent_tui.core.records import METRIC_KEYS
from lorasent_tui.core.sweep.events import SweepFinished, SweepStarted, TrialFinished, TrialStarted
from lorasent_tui.core.sweep.storage import check_study_name
from lorasent_tui.core.sweep.study import SAMPLERS, direction_of
from lorasent_tui.sweep_cli import DEFAULT_TRIALS, HEADERS, format_params
from lorasent_tui.tui.messages import (
    RunDataLoaded, RunEnded, RunsChanged, ShowStatus, SweepFailed, SweepLeaderboard, SweepReport,
    UseSettings,
)
from lorasent_tui.tui.run_detail import RunDetailScreen, load_run_data
from lorasent_tui.tui.services import SweepBridge, SweepRequest, TrainingSession
from lorasent_tui.tui.sweep_editor import VALUES_HELP, default_rows, varied_settings
from lorasent_tui.tui.widgets.sweep_charts import BestChart, ParamChart

VARIED_ROWS = 4
MAX_PARAM_CHARTS = 2
METRICS = tuple(key for key in METRIC_KEYS if key != "epoch")
BEST_MARK = "★"


class SweepsTable(DataTable):
    BINDINGS = [
        Binding("enter", "select_cursor", "Open trial", id="sweeps-open", show=False),
        Binding("s", "use_settings", "Use settings", id="sweeps-use-settings", show=False),
    ]

    @dataclass
    class UseRequested(Message):
        row: int

    def action_use_settings(self) -> None:
        self.post_message(self.UseRequested(self.cursor_row))


class SweepsPanel(Vertical):
    def __init__(self, base: Callable[[], TrainConfig], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base  # the Train form's settings: the sweep's fixed settings
        self.session: TrainingSession | None = None
        self.rows: tuple[Any, ...] = ()  # LeaderboardRow, best first
        self.metric = "accuracy"
        self.direction = "maximize"
        self.params: list[str] = []
        self.trial: int | None = None  # the trial training now

    def compose(self) -> ComposeResult:
        start = dict(enumerate(default_rows(self.base())))
        with Horizontal(id="sweeps-body"):
            with VerticalScroll(id="sweep-editor"):  # scrolls on a small terminal
                yield Static("Varied settings (the rest as on the Train form)", classes="section-title")
                for index in range(VARIED_ROWS):
                    name, values = start.get(index, ("", ""))
                    with Horizontal(classes="vary-row"):
                        yield Input(name, placeholder="setting", id=f"vary-name-{index}", compact=True)
                        yield Input(values, placeholder="low..high [log] or a, b", compact=True,
                                    id=f"vary-values-{index}")
                    yield Static("", id=f"vary-error-{index}", classes="vary-error")
                with Horizontal(classes="sweep-option"):
                    yield Label("Trials", classes="field-label")
                    yield Input(str(DEFAULT_TRIALS), id="sweep-trials", compact=True, type="integer")
                with Horizontal(classes="sweep-option"):
                    yield Label("Metric", classes="field-label")
                    yield Select([(m, m) for m in METRICS], value="accuracy", allow_blank=False,
                                 id="sweep-metric", compact=True)
                with Horizontal(classes="sweep-option"):
                    yield Label("Sampler", classes="field-label")
                    yield Select([(s, s) for s in SAMPLERS], value="tpe", allow_blank=False,
                                 id="sweep-sampler", compact=True)
                with Horizontal(classes="sweep-option"):
                    yield Label("Study", classes="field-label")
                    yield Input("", placeholder="new (named by the time)", id="sweep-study", compact=True)
                yield Static("", id="sweep-options-error", classes="vary-error")
                with Horizontal(id="sweep-controls"):
                    yield Button("Start", id="sweep-start", variant="success")
                    yield Button("Stop", id="sweep-stop", variant="error", disabled=True)
                    yield Label("idle", id="sweep-state")
            with Vertical(id="sweep-main"):
                yield Static(f"Each trial is a run. Values: {VALUES_HELP}.", id="sweep-detail")
                yield SweepsTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
                yield Static("enter opens a trial's run · s copies its settings to the Train form",
                             id="sweep-hint")
                with Horizontal(id="sweep-charts"):
                    yield BestChart(id="best-chart")

    def on_mount(self) -> None:
        self._set_columns()

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    # -- the editor ----------------------------------------------------------------------
    def editor_rows(self) -> list[tuple[str, str]]:
        return [(self.query_one(f"#vary-name-{i}", Input).value, self.query_one(f"#vary-values-{i}", Input).value)
                for i in range(VARIED_ROWS)]

    def check(self) -> SweepRequest | None:
        """The editor's sweep, or None with every problem shown under its row."""
        sampler = str(self.query_one("#sweep-sampler", Select).value)
        space, errors = varied_settings(self.editor_rows(), self.base(), sampler)
        for index in range(VARIED_ROWS):
            self._show_error(f"#vary-error-{index}", errors.get(index, ""))
        problem = ""
        trials = self.query_one("#sweep-trials", Input).value.strip()
        study = self.query_one("#sweep-study", Input).value.strip() or f"app-{datetime.now():%Y%m%d-%H%M%S}"
        if not trials.isdigit() or int(trials) < 1:
            problem = "trials: a whole number, at least 1"
        else:
            try:
                check_study_name(study)
            except ConfigError as exc:
                problem = str(exc)
        self._show_error("#sweep-options-error", problem)
        if space is None or problem:
            return None
        return SweepRequest(study, space, int(trials), str(self.query_one("#sweep-metric", Select).value),
                            sampler)

    def _show_error(self, selector: str, text: str) -> None:
        line = self.query_one(selector, Static)
        line.update(text)
        line.display = bool(text)  # an empty line would still take a row

    @on(Input.Changed, ".vary-row Input")
    def _row_changed(self) -> None:
        if not self.running:
            self.check()

    # -- start / stop --------------------------------------------------------------------
    def start_sweep(self) -> bool:
        session = self.app.training_session
        if session is not None and session.running:
            self.post_message(ShowStatus("Not started: a run is training. Stop it first (ctrl+t).", "warning"))
            return False
        request = self.check()
        if request is None:
            self.post_message(ShowStatus("Sweep not started: fix the varied settings first.", "error"))
            return False
        self.session = TrainingSession(self.base())
        self.app.training_session = self.session
        self.metric, self.direction = request.metric, direction_of(request.metric)
        self.params = [d.name for d in request.space.dimensions]
        self.rows = ()
        self._set_columns()
        self._set_param_charts()
        self._show_rows()
        self._set_state("running")
        self.query_one("#sweep-detail", Static).update(f"Starting study {request.study}…")
        self._sweep(request, self.session)
        return True

    def stop_sweep(self) -> bool:
        if not self.running:
            return False
        assert self.session is not None
        self.session.stop_event.set()
        self._set_state("stopping")
        self.post_message(ShowStatus("Stopping the sweep after the current step…"))
        return True

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False, name="sweep")
    def _sweep(self, request: SweepRequest, session: TrainingSession) -> None:
        bridge = SweepBridge(self)
        try:
            self.app.services.sweeper(request, runs_dir=self.app.services.runs_dir, stop=session.stop_event,
                                      callbacks=bridge.callbacks(), on_leaderboard=bridge.leaderboard)
        except Exception as exc:  # a user error (a study ranked by another metric) or a bug
            self.post_message(SweepFailed(describe_exception(exc)))
        finally:
            session.done.set()

    def _set_state(self, state: str) -> None:
        self.query_one("#sweep-state", Label).update(state)
        self.query_one("#sweep-start", Button).disabled = state in ("running", "stopping")
        self.query_one("#sweep-stop", Button).disabled = state != "running"
        self.app.refresh_bindings()

    @on(Button.Pressed, "#sweep-start")
    def _start_pressed(self) -> None:
        self.start_sweep()

    @on(Button.Pressed, "#sweep-stop")
    def _stop_pressed(self) -> None:
        self.stop_sweep()

    # -- what the sweep reports ----------------------------------------------------------
    def on_sweep_report(self, message: SweepReport) -> None:
        message.stop()
        event, detail = message.event, self.query_one("#sweep-detail", Static)
        if isinstance(event, SweepStarted):
            detail.update(f"Study {event.study} in {event.storage}")
        elif isinstance(event, EpochResult):
            metrics = event.metrics
            detail.update(f"Trial {self.trial} epoch {metrics.get('epoch')}: {self.metric} "
                          f"{format_metric(metrics.get(self.metric))}")
        elif isinstance(event, TrialStarted):
            self.trial = event.number
            detail.update(f"Trial {event.number} training: {format_params(event.params)} (run {event.run_id})")
            self.post_message(RunsChanged())
        elif isinstance(event, TrialFinished):
            why = f": {event.message}" if event.message else ""
            detail.update(f"Trial {event.row.number} {event.row.state}: {self.metric} "
                          f"{format_metric(event.row.value)}{why}")
            self.post_message(RunsChanged())
        elif isinstance(event, SweepFinished):
            self._finished(event)

    def _finished(self, event: SweepFinished) -> None:
        self.rows = event.leaderboard
        self._show_rows()
        best = next((row for row in self.rows if row.is_best), None)
        ended = "stopped" if event.stopped else "finished"
        self._set_state(ended)
        found = (f"best trial {best.number}, {self.metric} {format_metric(best.value)}" if best
                 else "no complete trial")
        self.query_one("#sweep-detail", Static).update(f"Study {event.study} {ended}: {found}.")
        self.post_message(ShowStatus(f"Sweep {event.study} {ended}: {found}."))
        self.post_message(RunsChanged())
        self.post_message(RunEnded())

    def on_sweep_failed(self, message: SweepFailed) -> None:
        message.stop()
        self._set_state("failed")
        self.query_one("#sweep-detail", Static).update(f"Failed: {message.message}")
        self.post_message(ShowStatus(f"Sweep failed: {message.message}", "error"))
        self.post_message(RunEnded())

    def on_sweep_leaderboard(self, message: SweepLeaderboard) -> None:
        message.stop()
        self.rows = message.rows
        self._show_rows()

    # -- leaderboard and charts ----------------------------------------------------------
    def _set_columns(self) -> None:
        table = self.query_one(SweepsTable)
        table.clear(columns=True)
        table.add_columns("Trial", "Parameters", HEADERS.get(self.metric, self.metric), "State", "Time")

    def _set_param_charts(self) -> None:
        charts = self.query_one("#sweep-charts")
        for chart in self.query(ParamChart):
            chart.remove()
        charts.mount_all(ParamChart(name) for name in self.params[:MAX_PARAM_CHARTS])

    def _show_rows(self) -> None:
        table = self.query_one(SweepsTable)
        table.clear()
        for row in self.rows:
            trial = f"{BEST_MARK} {row.number}" if row.is_best else str(row.number)
            value = row.value if row.value is None or math.isfinite(row.value) else None
            table.add_row(trial, format_params(row.params), format_metric(value), row.state,
                          format_duration(row.duration), key=str(row.number))
        self.query_one(BestChart).show(self.rows, self.metric, self.direction)
        for chart in self.query(ParamChart):
            chart.show(self.rows, self.metric)

    # -- a trial's run -------------------------------------------------------------------
    def selected_run(self, row: int | None = None) -> str | None:
        table = self.query_one(SweepsTable)
        index = table.cursor_row if row is None else row
        if not 0 <= index < len(self.rows):
            self.post_message(ShowStatus("No trial selected: start a sweep first.", "warning"))
            return None
        return self.rows[index].run_id

    def open_trial(self, row: int | None = None) -> None:
        run_id = self.selected_run(row)
        if run_id:
            self._load_trial(run_id, use=False)

    def use_trial_settings(self, row: int | None = None) -> None:
        run_id = self.selected_run(row)
        if run_id:
            self._load_trial(run_id, use=True)

    @on(DataTable.RowSelected, "#sweep-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_trial(event.cursor_row)

    def on_sweeps_table_use_requested(self, message: SweepsTable.UseRequested) -> None:
        message.stop()
        self.use_trial_settings(message.row)

    @work(thread=True, exclusive=True, group="sweep-trial", exit_on_error=False, name="read trial")
    def _load_trial(self, run_id: str, use: bool) -> None:
        try:
            data = load_run_data(self.app.services.runs_dir, run_id)
        except Exception as exc:  # a trial that never wrote its run folder, or a damaged one
            self.post_message(ShowStatus(f"Cannot read trial run {run_id}: {describe_exception(exc)}", "error"))
            return
        self.post_message(UseSettings(data.config, run_id) if use else RunDataLoaded([data]))

    def on_run_data_loaded(self, message: RunDataLoaded) -> None:
        message.stop()
        self.app.push_screen(RunDetailScreen(message.runs))
