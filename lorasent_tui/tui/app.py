"""The lorasent-tui application: Train, Predict, Runs and Sweeps tabs over the headless core.

``make_app`` wires the real core or test fakes; ``run_tui`` is what the CLI calls.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.lazy import Lazy
from textual.widgets import Header, Static, TabbedContent, TabPane

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.gcfreeze import freeze_long_lived
from lorasent_tui.core.errors import describe_exception
from lorasent_tui.core.fsutil import atomic_write_text
from lorasent_tui.core.store import SCREENSHOTS_DIR
from lorasent_tui.tui.commands import LorasentCommands
from lorasent_tui.tui.scoring_line import ScoringLine
from lorasent_tui.tui.messages import RunEnded, ShowStatus
from lorasent_tui.tui.panel_commands import PanelCommands
from lorasent_tui.tui.predict_panel import PredictPanel
from lorasent_tui.tui.queue_prompt import offer_queue, run_queue
from lorasent_tui.tui.runs_panel import RunsPanel
from lorasent_tui.tui.settings_file import DEFAULT_SETTINGS_FILE, load_settings, save_settings
from lorasent_tui.tui.settings_form import SettingsForm
from lorasent_tui.tui.services import Services, TrainingSession
from lorasent_tui.tui.sweeps_panel import SweepsPanel
from lorasent_tui.tui.train_panel import TrainPanel
from lorasent_tui.tui.widgets.footer import StableFooter

TITLE = "lorasent-tui"
# How long quitting waits, UI still showing, for a stopped trainer to mark its run stopped
# (the trainer checks the stop event between steps and between evaluation batches); at
# unmount (other exit paths) only briefly. run_tui waits AFTER_EXIT_WAIT_SECONDS more after
# the terminal is restored, saying so, then leaves anyway: the run then shows as interrupted.
STOP_WAIT_SECONDS = 10.0
EXIT_WAIT_SECONDS = 2.0
READY_TEXT = "Ready. F1/F2/F3/F10 switch tabs · ctrl+s trains · ctrl+p lists every command."


class LorasentApp(PanelCommands, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = TITLE
    SUB_TITLE = "LoRA fine-tuning for sentiment"
    COMMANDS = App.COMMANDS | {LorasentCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-medium"), (118, "-wide")]

    BINDINGS = [
        Binding("f1", "show_tab('train')", "Train", id="tab-train"),
        Binding("f2", "show_tab('predict')", "Predict", id="tab-predict"),
        Binding("f3", "show_tab('runs')", "Runs", id="tab-runs"),
        # f4 previews the data: the fourth tab takes the first free F-key.
        Binding("f10", "show_tab('sweeps')", "Sweeps", show=False, id="tab-sweeps"),
        # Digits too, for keyboards without handy F-keys (they type into inputs instead).
        Binding("1", "show_tab('train')", show=False),
        Binding("2", "show_tab('predict')", show=False),
        Binding("3", "show_tab('runs')", show=False),
        Binding("4", "show_tab('sweeps')", show=False),
        Binding("ctrl+s,f5", "start_training", "Start", id="start-training"),
        Binding("ctrl+t,f6", "stop_training", "Stop", id="stop-training"),
        # Not ctrl+w for saving: Input binds it (delete word) and would swallow it on the
        # Train and Predict tabs. The rest are not in the footer, which is full already:
        # the palette (ctrl+p) lists each with its keys, read from here.
        Binding("f4", "preview_data", "Preview data", show=False, id="preview-data"),
        Binding("ctrl+n", "add_to_queue", "Add to queue", show=False, id="add-to-queue"),
        Binding("ctrl+r", "run_queue", "Run queue", show=False, id="run-queue"),
        Binding("f7", "save_settings", "Save settings", show=False, id="save-settings"),
        Binding("ctrl+l,f8", "load_settings", "Load settings", show=False, id="load-settings"),
        Binding("f9", "reset_settings", "Reset to preset defaults", show=False, id="reset-settings"),
        Binding("f12", "save_screenshot", "Screenshot", show=False, id="save-screenshot"),
        # Priority: focus moves as the key arrives, before the keys typed after it go to the
        # focused widget. As Textual's screen binding, Tab waited in the field's own queue while
        # the app sent it the next keys already, so fast typing landed in the field being left.
        Binding("tab", "focus_next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", show=False, priority=True),
    ]

    def __init__(self, config: TrainConfig, services: Services, start: bool = False,
                 config_path: Path | None = None, start_note: str = "") -> None:
        super().__init__()
        self.start_note = start_note  # where the start settings came from, if not the usual
        self._status_topic: str | None = None  # what the status line is about, e.g. "settings"
        # What Save/Load settings offer first: the --config file the app started with, then
        # the last file saved or loaded.
        self.settings_path = Path(config_path or DEFAULT_SETTINGS_FILE)
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # The tab underline slide repaints for 0.3 s after every switch (~40 ms CPU each
            # time); on a busy machine that competes with the trainer. A user setting wins.
            self.animation_level = "none"
        self.initial_config = config
        self.services = services
        self.start_on_mount = start
        # Kept here, not only on the Train panel, because it must outlive the panel at exit.
        self.training_session: TrainingSession | None = None
        self.quitting = False  # ctrl+q pressed while training: waiting for the trainer to stop
        self.quit_at_once = False  # ctrl+q pressed again: leave without waiting

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="train", id="main-tabs"):
            with TabPane("Train", id="train"):
                yield TrainPanel(self.initial_config, id="train-panel")
            # Hidden at start: mounted right after the first frame, which then comes sooner.
            with TabPane("Predict", id="predict"):
                yield Lazy(PredictPanel(id="predict-panel"))
            with TabPane("Runs", id="runs"):
                yield Lazy(RunsPanel(id="runs-panel"))
            with TabPane("Sweeps", id="sweeps"):
                yield Lazy(SweepsPanel(lambda: self.train_panel.form.last_valid, id="sweeps-panel"))
        yield Static(self.start_note or READY_TEXT, id="status-line")
        yield StableFooter(compact=True)  # compact: the Runs tab's keys fit 120 columns

    def on_mount(self) -> None:
        # After the first frame, and again after each run (the trainer unfreezes at its end).
        self.call_after_refresh(freeze_long_lived)
        if self.start_on_mount:
            self.call_after_refresh(self.action_start_training)
        else:
            self.call_after_refresh(self._offer_queue)

    @work(group="queue-offer", exit_on_error=False)
    async def _offer_queue(self) -> None:
        await offer_queue(self)

    # -- panels --------------------------------------------------------------------------
    @property
    def train_panel(self) -> TrainPanel:
        return self.query_one(TrainPanel)

    @property
    def predict_panel(self) -> PredictPanel:
        return self.query_one(PredictPanel)

    @property
    def runs_panel(self) -> RunsPanel:
        return self.query_one(RunsPanel)

    def _base_config(self) -> TrainConfig:
        return self.train_panel.form.validate() or self.initial_config

    # -- actions (those acting on one tab's panel are in panel_commands.py) --------------
    def action_show_tab(self, tab: str) -> None:
        # Modal screens block app keys, but palette commands still get here: close any
        # dialog first (closed this way it answers nothing, so nothing gets deleted).
        while len(self.screen_stack) > 1:
            self.pop_screen()
        tabs = self.query_one("#main-tabs", TabbedContent)
        if tabs.active != tab:
            with self.batch_update():  # one repaint for the switch and the focus move
                tabs.active = tab
                # Move focus now, not when TabActivated arrives: a key typed in between
                # would otherwise land in a widget of the tab just hidden.
                self._focus_tab(tab)

    def _focus_tab(self, tab: str, tries: int = 250) -> None:
        if self.query_one("#main-tabs", TabbedContent).active != tab:
            return  # the user moved on meanwhile
        target = self._focus_target(tab)
        if target is not None:
            self.screen.set_focus(target, scroll_visible=False)
            if self.focused is target:
                return
        if tries:  # its panel is still being mounted (lazily, just after the first frame)
            self.set_timer(0.02, lambda: self._focus_tab(tab, tries - 1))

    def _focus_target(self, tab: str) -> Any:
        try:
            if tab == "predict":
                return self.predict_panel.query_one("#review")
            if tab == "runs":
                return self.runs_panel.query_one("#runs-table")
            if tab == "sweeps":
                return self.query_one(SweepsPanel).query_one("#sweep-table")
        except NoMatches:  # a lazily mounted panel in its first few milliseconds
            return None
        return self.train_panel.focus_target()

    def action_run_queue(self) -> None:
        run_queue(self)

    @work(exclusive=True, group="settings-file", exit_on_error=False)
    async def action_save_settings(self) -> None:
        await save_settings(self)

    @work(exclusive=True, group="settings-file", exit_on_error=False)
    async def action_load_settings(self) -> None:
        await load_settings(self)

    def action_save_screenshot(self) -> None:
        # After a refresh: from the command palette, the palette must be gone from the shot.
        self.call_after_refresh(self._save_screenshot)

    def _save_screenshot(self) -> None:
        # Under the runs folder: the working directory is often the repository.
        folder = self.services.runs_dir / SCREENSHOTS_DIR
        path = folder / f"{TITLE}_{datetime.now():%Y-%m-%dT%H_%M_%S_%f}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, self.export_screenshot())
        except Exception as exc:
            self.show_status(f"Screenshot not saved: {describe_exception(exc)}", "error")
            return
        self.show_status(f"Screenshot saved: {path}")
        self.notify(str(path), title="Screenshot saved", timeout=6)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Dim Stop in the footer when it would do nothing (no run, sweep or file scoring). Start
        # stays live while a run trains: pressing it says why nothing starts.
        running = ((self.training_session is not None and self.training_session.running)
                   or any(line.running for line in self.query(ScoringLine)))
        if action == "stop_training" and not running:
            return None
        return True

    # -- messages ------------------------------------------------------------------------
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "main-tabs":
            return
        # Focus follows the tab (also when a tab is clicked): keys must never go to a hidden widget.
        if self.focused is None or event.pane not in self.focused.ancestors_with_self:
            self._focus_tab(event.pane.id or "train")
        if event.pane.id == "predict":
            for panel in self.query(PredictPanel):
                panel.ensure_base(self._base_config())

    def on_show_status(self, message: ShowStatus) -> None:
        self.show_status(message.text, message.severity)

    def on_settings_form_validity_changed(self, message: SettingsForm.ValidityChanged) -> None:
        # An error about the settings must not outlive the problem it reported.
        if message.valid and self._status_topic == "settings":
            self.show_status("The settings are valid now. ctrl+s starts training.")

    def on_settings_form_preset_applied(self, message: SettingsForm.PresetApplied) -> None:
        count = len(message.changed)
        changed = f"changed {count} setting{'s' if count != 1 else ''}" + (" (listed aside)" if count else "")
        kept = f"; kept your {', '.join(message.kept)}" if message.kept else ""
        self.show_status(f"Preset {message.preset} {changed}{kept}.")
        if message.changed:
            self.notify("\n".join(message.changed), title=f"Preset {message.preset} changed", timeout=10)

    def on_run_ended(self, message: RunEnded) -> None:
        # The trainer unfroze everything so its model could go: collect it, freeze the rest.
        self.call_after_refresh(freeze_long_lived)

    def show_status(self, text: str, severity: str = "information", topic: str | None = None) -> None:
        """The one place users are told things; errors also pop a notification.

        ``topic`` ("settings") lets the line be cleared when what it reports is gone.
        """
        self._status_topic = topic
        line = self.query_one("#status-line", Static)
        line.update(text)
        for name in ("information", "warning", "error"):
            line.set_class(severity == name, f"-{name}")
        if severity == "error":
            self.notify(text, severity="error", timeout=8)
        self.refresh_bindings()

    # -- shutdown ------------------------------------------------------------------------
    def action_quit(self) -> None:
        """Quit; while training, stop the run first (bounded wait), unless pressed again.

        Not awaiting here: the app must keep handling keys, so that a second ctrl+q arrives.
        """
        session = self.training_session
        if session is None or not session.running or self.quitting:
            self.quit_at_once = self.quitting
            self.exit(0)
            return
        self.quitting = True
        session.stop_event.set()
        self.show_status("Stopping training before exit… (ctrl+q again quits at once; "
                         "the run is then left interrupted, resumable)", "warning")
        self._exit_when_stopped(session)

    @work(group="quit", exit_on_error=False)
    async def _exit_when_stopped(self, session: TrainingSession) -> None:
        await asyncio.to_thread(session.done.wait, STOP_WAIT_SECONDS)
        self.exit(0)

    async def on_unmount(self) -> None:
        # Every other exit path (exit(), a crash, the test harness) ends up here. Thread
        # workers cannot be cancelled: only the event ends the trainer's loop.
        session = self.training_session
        if session is None or not session.running:
            return
        session.stop_event.set()
        if not self.quit_at_once:
            await asyncio.to_thread(session.done.wait, EXIT_WAIT_SECONDS)
