"""Command palette entries (ctrl+p): everything the keys do, findable by name, each with its key.

The keys shown are read from the bindings themselves (the app's and the Runs tab's), so the
palette, the footer and the README cannot drift apart: one set of keys, shown everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class Command:
    title: str
    help: str
    action: str  # an app action
    binding: str  # id of the binding whose keys do the same
    where: str = ""  # where the key works, when not everywhere


COMMAND_LIST: tuple[Command, ...] = (
    Command("Start training", "Train with the settings on the Train tab", "start_training", "start-training"),
    Command("Stop training", "Stop the running training or sweep after the current step, or a file's scoring",
            "stop_training", "stop-training"),
    Command("Preview data", "Load the dataset and show label balance and samples", "preview_data",
            "preview-data"),
    Command("Add to queue", "Queue the Train tab's settings to train later, after the runs queued before",
            "add_to_queue", "add-to-queue"),
    Command("Run queue", "Train the queued settings one after another in the background", "run_queue",
            "run-queue"),
    Command("Show Train tab", "Settings, progress and live metrics", "show_tab('train')", "tab-train"),
    Command("Predict", "Compare the base and fine-tuned model on your own review", "show_tab('predict')",
            "tab-predict"),
    Command("Switch prediction backend", "Run the fine-tuned model on auto, torch or ONNX (cycles)",
            "switch_backend", "predict-backend", "Predict tab"),
    Command("Export ONNX for this run", "Export the loaded run as ONNX int8 (RUN/onnx), then predict with it",
            "export_onnx", "predict-export-onnx", "Predict tab"),
    Command("Score a file…", "Score every text of a data file with the loaded run, into NAME.predictions.csv",
            "score_file", "predict-score-file", "Predict tab"),
    Command("Explain the verdict", "Colour the typed review's words by how they pushed its label; rank them",
            "explain", "predict-explain", "Predict tab"),
    Command("Show Runs tab", "All runs under the runs folder", "show_tab('runs')", "tab-runs"),
    Command("Show Sweeps tab", "Search hyperparameters: every trial is a run", "show_tab('sweeps')",
            "tab-sweeps"),
    Command("Open trial", "Open the run of the trial selected on the Sweeps tab", "open_trial",
            "sweeps-open", "Sweeps tab"),
    Command("Use trial's settings", "Copy the selected trial's settings into the Train form",
            "use_trial_settings", "sweeps-use-settings", "Sweeps tab"),
    Command("Open run", "Open the run selected on the Runs tab", "open_run", "runs-open", "Runs tab"),
    Command("Compare runs", "Compare the two runs marked on the Runs tab", "compare_runs", "runs-compare",
            "Runs tab"),
    Command("Predict with selected run", "Load the selected run into the Predict tab", "predict_with_run",
            "runs-predict", "Runs tab"),
    Command("Resume run", "Continue the stopped, failed or interrupted run selected on the Runs tab",
            "resume_run", "runs-resume", "Runs tab"),
    Command("Browse errors of selected run",
            "Kept predictions of the selected run (the newest at start), confidently wrong first",
            "browse_errors", "runs-errors", "Runs tab"),
    Command("Delete run", "Delete the run selected on the Runs tab (asks first)", "delete_run",
            "runs-delete", "Runs tab"),
    Command("Refresh runs", "Re-read the runs folder", "refresh_runs", "runs-refresh", "Runs tab"),
    Command("Save settings…", "Write the Train tab's settings to a TOML file", "save_settings",
            "save-settings"),
    Command("Load settings…", "Fill the Train tab from a TOML or JSON settings file", "load_settings",
            "load-settings"),
    Command("Reset to preset defaults", "Refill every setting with the chosen preset's defaults",
            "reset_settings", "reset-settings"),
    Command("Save screenshot", "Save an SVG picture of the screen under the runs folder",
            "save_screenshot", "save-screenshot"),
)


def key_text(binding: Binding) -> str:
    """``ctrl+s / f5``: every key of a binding, as the README writes them."""
    return " / ".join(key.strip() for key in binding.key.split(","))


def find_binding(bindings: Iterable[Binding], binding_id: str) -> Binding:
    return next(b for b in bindings if b.id == binding_id)


def all_bindings() -> list[Binding]:
    """The app's bindings and the Predict, Runs and Sweeps tabs', where the palette's keys are defined."""
    from lorasent_tui.tui.app import LorasentApp
    from lorasent_tui.tui.predict_panel import PredictPanel
    from lorasent_tui.tui.runs_panel import RunsPanel, RunsTable
    from lorasent_tui.tui.sweeps_panel import SweepsTable

    return [b for cls in (LorasentApp, PredictPanel, RunsPanel, RunsTable, SweepsTable) for b in cls.BINDINGS
            if isinstance(b, Binding)]


def help_with_key(command: Command, bindings: list[Binding]) -> str:
    where = f" on the {command.where}" if command.where else ""
    return f"{command.help} · {key_text(find_binding(bindings, command.binding))}{where}"


class LorasentCommands(Provider):
    async def discover(self) -> Hits:
        bindings = all_bindings()
        for command in COMMAND_LIST:
            yield DiscoveryHit(command.title, self._runner(command.action),
                               help=help_with_key(command, bindings))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        bindings = all_bindings()
        for command in COMMAND_LIST:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), self._runner(command.action),
                          text=command.title, help=help_with_key(command, bindings))

    def _runner(self, action: str):
        async def run() -> None:
            await self.app.run_action(action)

        return run
