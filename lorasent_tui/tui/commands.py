"""Command palette entries (ctrl+p): everything the keys do, findable by name."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, app action)
COMMAND_LIST: tuple[tuple[str, str, str], ...] = (
    ("Start training", "Train with the settings on the Train tab", "start_training"),
    ("Stop training", "Stop the running training after the current step", "stop_training"),
    ("Preview data", "Load the dataset and show label balance and samples", "preview_data"),
    ("Show Train tab", "Settings, progress and live metrics", "show_tab('train')"),
    ("Predict", "Compare the base and fine-tuned model on your own review", "show_tab('predict')"),
    ("Show Runs tab", "All runs under the runs folder", "show_tab('runs')"),
    ("Open run", "Open the run selected on the Runs tab", "open_run"),
    ("Compare runs", "Compare the two runs marked on the Runs tab", "compare_runs"),
    ("Predict with selected run", "Load the selected run into the Predict tab", "predict_with_run"),
    ("Resume run", "Continue the stopped, failed or interrupted run selected on the Runs tab",
     "resume_run"),
    ("Delete run", "Delete the run selected on the Runs tab (asks first)", "delete_run"),
    ("Refresh runs", "Re-read the runs folder", "refresh_runs"),
    ("Save settings…", "Write the Train tab's settings to a TOML file (f7)", "save_settings"),
    ("Load settings…", "Fill the Train tab from a TOML or JSON settings file (ctrl+l)", "load_settings"),
    ("Save screenshot", "Save an SVG picture of the screen in the current folder (f12)",
     "save_screenshot"),
)


class LorasentCommands(Provider):
    async def discover(self) -> Hits:
        for title, help_text, action in COMMAND_LIST:
            yield DiscoveryHit(title, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in COMMAND_LIST:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(action), text=title, help=help_text)

    def _runner(self, action: str):
        async def run() -> None:
            await self.app.run_action(action)

        return run
