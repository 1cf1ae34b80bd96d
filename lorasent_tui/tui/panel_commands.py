"""What the app asks of its tabs' panels, and what the panels ask of one another.

Mixed into LorasentApp. The command palette (ctrl+p, tui/commands.py) and the app's keys run app
actions, while a panel's own keys work only on its tab: each action here shows the panel's tab,
then lets the panel act, so the user sees what it did. A panel's message for another panel
(a run is ready to predict with, deleted, to be resumed) comes through here too.
"""

from __future__ import annotations

from typing import Any, Callable

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.scoring_line import ScoringLine
from lorasent_tui.tui.messages import ResumeRun, RunDeleted, RunReady, RunsChanged, UseSettings
from lorasent_tui.tui.predict_panel import PredictPanel
from lorasent_tui.tui.queue_prompt import queue_settings
from lorasent_tui.tui.runs_panel import RunsPanel
from lorasent_tui.tui.sweeps_panel import SweepsPanel


class PanelCommands:
    """Needs of the app: ``action_show_tab``, ``show_status`` and its panels' properties."""

    # -- Train tab -----------------------------------------------------------------------
    def action_start_training(self) -> None:
        self.action_show_tab("train")
        self.train_panel.start_training()

    def action_stop_training(self) -> None:
        stopped = (self.train_panel.stop_training() or any(p.stop_sweep() for p in self.query(SweepsPanel))
                   or any(line.stop() for line in self.query(ScoringLine)))
        if not stopped:
            self.show_status("No training is running.", "warning")

    def action_add_to_queue(self) -> None:
        self.action_show_tab("train")
        queue_settings(self)

    def action_preview_data(self) -> None:
        self.action_show_tab("train")
        self.train_panel.load_preview(force=True)

    def action_reset_settings(self) -> None:
        self.action_show_tab("train")
        if self.train_panel.running:
            self.show_status("The settings cannot change while a run trains.", "warning")
            return
        preset = self.train_panel.form.values()["preset"]
        self.train_panel.form.fill(build_config({"preset": preset}))
        self.show_status(f"Every setting is back to the {preset} preset's defaults.")

    # -- Runs tab ------------------------------------------------------------------------
    def _on_runs(self, action: Callable[[RunsPanel], Any]) -> None:
        self.action_show_tab("runs")
        action(self.runs_panel)

    def action_open_run(self) -> None:
        self._on_runs(lambda panel: panel.open_runs([panel.selected_run_id()]))

    def action_compare_runs(self) -> None:
        self._on_runs(RunsPanel.action_compare)

    def action_predict_with_run(self) -> None:
        self._on_runs(RunsPanel.action_predict_with)

    def action_resume_run(self) -> None:
        self._on_runs(RunsPanel.action_resume)

    def action_browse_errors(self) -> None:
        self._on_runs(RunsPanel.action_browse_errors)

    def action_delete_run(self) -> None:
        self._on_runs(RunsPanel.action_delete)

    def action_refresh_runs(self) -> None:
        self._on_runs(RunsPanel.reload)

    # -- Predict and Sweeps tabs ---------------------------------------------------------
    def action_switch_backend(self) -> None:
        self.action_show_tab("predict")
        self.predict_panel.action_switch_backend()

    def action_export_onnx(self) -> None:
        self.action_show_tab("predict")
        self.predict_panel.action_export_onnx()

    def action_score_file(self) -> None:
        self.action_show_tab("predict")
        self.predict_panel.action_score_file()

    def action_explain(self) -> None:
        self.action_show_tab("predict")
        self.predict_panel.action_explain()

    def action_open_trial(self) -> None:
        self.action_show_tab("sweeps")
        self.query_one(SweepsPanel).open_trial()

    def action_use_trial_settings(self) -> None:
        self.action_show_tab("sweeps")
        self.query_one(SweepsPanel).use_trial_settings()

    # -- messages from one panel for another ---------------------------------------------
    def on_run_ready(self, message: RunReady) -> None:
        self.predict_panel.load_run(message.run_id)
        if message.switch_tab:
            self.action_show_tab("predict")

    def on_run_deleted(self, message: RunDeleted) -> None:
        for panel in self.query(PredictPanel):  # not mounted yet: it has nothing loaded
            panel.forget_run(message.run_id, "deleted")

    def on_resume_run(self, message: ResumeRun) -> None:
        if self.train_panel.running:  # say so where the user is, not on the Train tab
            self.show_status("Training is already running; stop it before resuming a run.", "warning")
            return
        self.action_show_tab("train")
        self.train_panel.start_training(resume=message.run_id, epochs=message.epochs)

    def on_use_settings(self, message: UseSettings) -> None:
        if self.train_panel.running:  # the form is hidden and fixed while a run trains
            self.show_status("Training is running; stop it before loading other settings.", "warning")
            return
        while len(self.screen_stack) > 1:  # from the run detail
            self.pop_screen()
        self.action_show_tab("train")
        self.train_panel.form.fill(message.config)
        self.show_status(f"Loaded the settings of run {message.run_id} into the form; "
                         "ctrl+s trains a new run with them.")

    def on_runs_changed(self, message: RunsChanged) -> None:
        for panel in self.query(RunsPanel):  # not mounted yet: it lists the runs when it is
            panel.reload()
