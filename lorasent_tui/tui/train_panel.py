"""The Train tab: settings, start/stop/resume, live progress, metrics and charts, data preview.

The trainer runs in a thread worker (tui/train_worker.py) and reports to this panel, which makes
every UI change, on the event loop; the Live view keeps and draws what it reported (tui/live_pane.py).
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Label, ProgressBar, Static, TabbedContent, TabPane, Tabs

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.display import format_metric
from lorasent_tui.core.events import StepProgress
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.tui.messages import (
    ResumeLoaded, RunEnded, RunReady, RunsChanged, ShowStatus, TrainEpoch, TrainFailed, TrainFinished,
    TrainProgress, TrainStatus,
)
from lorasent_tui.tui.live_pane import LivePane
from lorasent_tui.tui.preview_pane import DataPreviewPane
from lorasent_tui.tui.progress_text import ended_line, progress_line, run_fraction
from lorasent_tui.tui.services import TrainingSession
from lorasent_tui.tui.settings_form import SettingsForm, settings_summary
from lorasent_tui.tui.train_worker import remember, train
from lorasent_tui.tui.widgets.confusion import ConfusionView
from lorasent_tui.tui.widgets.metrics_table import MetricsTable

ACTIVE_STATES = ("starting", "running", "stopping")


class TrainPanel(Vertical):
    # Not a letter: the settings form's inputs take those (ctrl+b is free in an Input).
    BINDINGS = [Binding("ctrl+b", "browse_errors", "Errors", show=False, id="train-errors")]
    state: reactive[str] = reactive("idle")

    def __init__(self, config: TrainConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session: TrainingSession | None = None
        self.run_id: str | None = None
        self.last_progress: StepProgress | None = None
        # Kept: at unmount (quitting) the form's widgets are gone, its last valid settings not.
        self._settings = SettingsForm(config, id="settings")

    def compose(self) -> ComposeResult:
        with Horizontal(id="train-body"):
            yield self._settings
            # Shown instead of the form while a run trains: the settings cannot change then,
            # and the Train tab re-lays out in a third of the time without the form's widgets.
            with VerticalScroll(id="run-settings"):
                yield Static("", id="run-settings-text")
            with Vertical(id="train-main"):
                with Horizontal(id="train-controls"):
                    yield Button("Start ^s", id="start", variant="success")
                    yield Button("Stop ^t", id="stop", variant="error", disabled=True)
                    yield Button("Preview data f4", id="preview")
                    yield Label("idle", id="train-state")
                # A known total from the start: an indeterminate bar animates (repaints) forever.
                # The total is 1: the bar shows the fraction of the run's work, evaluations included.
                yield ProgressBar(total=1, id="train-progress", show_eta=False)
                yield Static("Not started. Check the settings, then press Start (ctrl+s).",
                             id="progress-detail")
                with TabbedContent(id="train-views"):
                    yield LivePane("Live", id="live-pane")
                    with TabPane("Classes", id="classes-pane"):  # the epoch picked on Live
                        yield ConfusionView(id="live-confusion")
                    with TabPane("Data preview", id="data-pane"):
                        yield Lazy(DataPreviewPane(id="data-preview"))

    @property
    def form(self) -> SettingsForm:
        return self.query_one(SettingsForm)

    @property
    def live(self) -> LivePane:
        return self.query_one(LivePane)

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def focus_target(self) -> Any:
        """What entering the Train tab focuses: the form, or the view tabs while it is hidden.

        Not the metrics table: a focused table's cursor row picks the ROC epoch shown.
        """
        if self.has_class("-training"):
            return self.query_one("#train-views").query_one(Tabs)
        return self.form.query_one("#field-model")

    def watch_state(self, state: str) -> None:
        self.query_one("#train-state", Label).update(state)
        focused = self.app.focused
        in_form = focused is not None and self.form in focused.ancestors_with_self
        self.set_class(state in ACTIVE_STATES, "-training")
        if in_form and state in ACTIVE_STATES:
            self.app.set_focus(self.focus_target())  # keys must not go to the hidden inputs
        # Start stays pressable while a run trains: pressing it says why nothing starts.
        self.query_one("#stop", Button).disabled = state not in ("starting", "running")
        self.app.refresh_bindings()  # the footer dims Start/Stop from check_action

    # -- start / stop --------------------------------------------------------------------
    def start_training(self, resume: str | None = None, epochs: int | None = None) -> bool:
        """Train with the form's settings, or continue run ``resume`` with its own settings
        (to ``epochs`` in total, when given: a completed run is then extended)."""
        if self.running:
            run = f" (run {self.run_id})" if self.run_id else ""
            self.post_message(ShowStatus(
                f"Not started: a run is training{run}. Stop it first (ctrl+t), then start again.",
                "warning"))
            return False
        other = self.app.training_session
        if other is not None and other.running:  # a sweep's trials train: one training at a time
            self.post_message(ShowStatus("Not started: a sweep is running. Stop it first (ctrl+t).", "warning"))
            return False
        config = None  # resuming: the worker reads the run's saved settings
        if resume is None:
            config = self.form.validate()
            if config is None:
                self.app.show_status(f"Not started, fix the settings first: {self.form.problems()}",
                                     "error", topic="settings")
                self.form.focus_first_error()
                return False
        self._reset_live()
        self.live.show_classes(run_label_names(config.labels) if config else None)
        self.query_one("#train-views", TabbedContent).active = "live-pane"
        self.query_one("#run-settings-text", Static).update(
            settings_summary(config) if config else f"Resuming run {resume}…")
        self.session = TrainingSession(config, resume=resume, epochs=epochs)
        self.app.training_session = self.session
        self.state = "starting"
        self.query_one("#progress-detail", Static).update(
            f"Resuming run {resume}… (loading the model can take a few seconds)" if resume
            else "Starting… (loading the model can take a few seconds)")
        self._train(self.session)
        return True

    def stop_training(self) -> bool:
        if not self.running or self.state == "stopping":
            return False
        assert self.session is not None
        self.session.stop_event.set()
        self.state = "stopping"
        self.query_one("#progress-detail", Static).update(
            progress_line(self.last_progress, stopping=True) if self.last_progress
            else "Stopping after the current step…")
        self.post_message(ShowStatus("Stopping after the current step…"))
        return True

    @work(thread=True, exclusive=True, group="train", exit_on_error=False, name="train")
    def _train(self, session: TrainingSession) -> None:
        train(self, self.app.services, session)

    def on_unmount(self) -> None:
        # Quitting keeps the settings for the next launch too, not only starting a run.
        remember(self, self.app.services.runs_dir, self._settings.last_valid)

    def _reset_live(self) -> None:
        self.run_id, self.last_progress = None, None
        self.live.reset()
        self.query_one("#train-progress", ProgressBar).update(total=1, progress=0)
        self._draw_charts()

    # -- trainer messages ----------------------------------------------------------------
    def on_resume_loaded(self, message: ResumeLoaded) -> None:
        """Show the run being resumed: its settings in the form, its finished epochs live."""
        message.stop()
        self.form.fill(message.config)
        self.live.show_classes(run_label_names(message.config.labels))
        self.query_one("#run-settings-text", Static).update(settings_summary(message.config))
        self.live.load(message.rows, message.rocs, message.best_epoch)
        self._draw_charts()

    def on_train_status(self, message: TrainStatus) -> None:
        message.stop()
        update = message.update
        if update.run_id and update.run_id != self.run_id:
            self.post_message(RunsChanged())  # list the new run (state "running") at once
            verb = "Resuming" if self.session and self.session.resume else "Training"
            self.post_message(ShowStatus(f"{verb} run {update.run_id}… (ctrl+t stops it)"))
        self.run_id = update.run_id or self.run_id
        if update.labels:
            self.live.show_classes(tuple(update.labels))
        if self.state == "starting":
            self.state = "running"
        if self.state == "stopping":
            return  # the line says the run is stopping until it has
        device = f" · device {update.device}" if update.device else ""
        self.query_one("#progress-detail", Static).update(f"{update.message}{device}")

    def on_train_progress(self, message: TrainProgress) -> None:
        message.stop()
        p = self.last_progress = message.progress
        if self.state == "starting":
            self.state = "running"
        if self.state not in ACTIVE_STATES:
            return  # a late message after the run's end must not bring back its progress
        self.query_one("#train-progress", ProgressBar).update(total=1, progress=run_fraction(p))
        self.query_one("#progress-detail", Static).update(progress_line(p, self.state == "stopping"))
        if message.loss_points and p.total:  # steps count over the whole run
            self.live.add_step_losses(message.loss_points, p.epochs / p.total)

    def action_browse_errors(self) -> None:
        """The error browser on this run's best epoch so far (its validation predictions)."""
        from lorasent_tui.tui.error_browser import ErrorBrowserScreen

        if self.run_id is None or not self.live.rows:
            self.post_message(ShowStatus("No predictions yet: the browser opens after the first epoch.", "warning"))
            return
        self.app.push_screen(ErrorBrowserScreen(self.app.services.runs_dir / self.run_id, self.run_id))

    def on_train_epoch(self, message: TrainEpoch) -> None:
        message.stop()
        self.live.add_epoch(message.result)
        self._draw_charts()

    def on_train_finished(self, message: TrainFinished) -> None:
        message.stop()
        result = message.result
        self.run_id = result.run_id
        self.state = result.state
        if result.state == "completed":
            self.query_one("#train-progress", ProgressBar).update(total=1, progress=1)
        best = ""
        if result.best_epoch is not None and result.best_metrics:
            acc = result.best_metrics.get("accuracy")
            best = f"; best epoch {result.best_epoch}, accuracy {format_metric(acc)}"
        elapsed = self.last_progress.elapsed if self.last_progress else None
        self.query_one("#progress-detail", Static).update(ended_line(result.state, len(self.live.rows), elapsed))
        self.post_message(ShowStatus(f"Run {result.run_id} {result.state}{best}."))
        self.post_message(RunsChanged())
        self.post_message(RunEnded())
        if result.best_epoch is not None:
            self.post_message(RunReady(result.run_id))

    def on_train_failed(self, message: TrainFailed) -> None:
        message.stop()
        self.state = "failed"
        self.query_one("#progress-detail", Static).update(f"Failed: {message.failure.message}")
        self.post_message(ShowStatus(f"Training failed: {message.failure.message}", "error"))
        self.post_message(RunEnded())
        if message.failure.run_id:
            self.post_message(RunsChanged())

    # -- charts --------------------------------------------------------------------------
    def _draw_charts(self, picked_epoch: int | None = None) -> None:
        """Every chart; the ROC curves and the Classes view of the picked epoch, else the best."""
        self.query_one(ConfusionView).show(*self.live.draw(picked_epoch))

    @on(DataTable.RowHighlighted, "#live-metrics")
    def _show_selected_roc(self, event: DataTable.RowHighlighted) -> None:
        # Redrawing the table moves the cursor too; only a user's choice overrides "best".
        table = self.query_one(MetricsTable)
        if table.has_focus:
            picked = table.epoch_at(event.cursor_row)
            self._draw_charts(picked[1] if picked else None)

    # -- buttons and data preview --------------------------------------------------------
    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.start_training()

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.stop_training()

    @on(Button.Pressed, "#preview")
    def _preview_pressed(self) -> None:
        self.load_preview(force=True)

    @on(TabbedContent.TabActivated, "#train-views")
    def _view_changed(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        if event.pane.id == "data-pane":
            self.load_preview()

    def load_preview(self, force: bool = False) -> None:
        config = self.form.validate()
        if config is None:
            self.app.show_status(f"Fix the settings before previewing the data: {self.form.problems()}",
                                 "error", topic="settings")
            return
        self.query_one("#train-views", TabbedContent).active = "data-pane"
        for pane in self.query(DataPreviewPane):  # lazily mounted just after the first frame
            pane.load(config, force)
