"""The Runs tab: every run under the runs folder; open, compare, predict with, resume, delete,
browse a run's errors, and load a run's settings into the Train form.

Reading run folders happens in thread workers (a slow or network disk must not freeze
the UI); damaged folders are listed with their problem rather than hidden.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.errors import describe_exception
from lorasent_tui.core.store import RunStore, RunSummary
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.messages import (
    ResumeRun, RunDataLoaded, RunDeleted, RunReady, RunsChanged, RunsListed, ShowStatus, UseSettings,
)
from lorasent_tui.tui.resume_prompt import ResumeEpochsScreen
from lorasent_tui.tui.run_detail import RunDetailScreen, load_run_data
from lorasent_tui.tui.services import RESUMABLE_STATES

MARK = "✓"
# Cells that can be any length (a hub id, a file path, an error) end in "…" beyond this, so
# that the columns after them stay on screen; a run id keeps its start (the time stamp) and end.
MAX_CELL = {"run": 36, "problem": 30, "model": 22, "dataset": 16}
HINT = ("enter open · space mark · c compare two · p predict · s use settings · u resume/extend · "
        "x errors · d delete · r refresh")


def ellipsize(text: str, width: int, keep_end: int = 0) -> str:
    """``text`` cut to ``width`` characters with "…" in it, keeping its last ``keep_end``."""
    if len(text) <= width:
        return text
    head = width - 1 - keep_end
    return text[:head] + "…" + text[len(text) - keep_end:]


# What tells runs apart first; model, dataset and start time (in the run id's stamp too) last:
# the table scrolls sideways, and the line under it shows the highlighted run in full.
COLUMNS = (("mark", " "), ("run", "Run"), ("state", "State"), ("epochs", "Epochs"), ("acc", "Best acc"),
           ("f1", "Best F1"), ("problem", "Problem"), ("model", "Model"), ("dataset", "Dataset"),
           ("started", "Started"))


class RunsTable(DataTable):
    BINDINGS = [Binding("enter", "select_cursor", "Open", id="runs-open", show=False)]


class RunsPanel(Vertical):
    # Listed in the panel's hint line, not the footer: a footer that changed with the tab
    # rebuilt itself (two full re-layouts) on every switch to and from this tab.
    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="runs-mark", show=False),
        Binding("c", "compare", "Compare", id="runs-compare", show=False),
        Binding("p", "predict_with", "Predict", id="runs-predict", show=False),
        Binding("u", "resume", "Resume", id="runs-resume", show=False),
        Binding("s", "use_settings", "Use settings", id="runs-use-settings", show=False),
        Binding("d", "delete", "Delete", id="runs-delete", show=False),
        Binding("r", "reload", "Refresh", id="runs-refresh", show=False),
        Binding("x", "browse_errors", "Errors", id="runs-errors", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summaries: dict[str, RunSummary] = {}
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-info")
        yield RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="run-problem")

    def on_mount(self) -> None:
        table = self.query_one(RunsTable)
        for key, heading in COLUMNS:
            table.add_column(heading, key=key)
        self.reload()

    @property
    def runs_dir(self):
        return self.app.services.runs_dir

    # -- listing -------------------------------------------------------------------------
    def reload(self) -> None:
        self._list_runs()

    def action_reload(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, name="list runs")
    def _list_runs(self) -> None:
        try:
            self.post_message(RunsListed(RunStore(self.runs_dir).list()))
        except Exception as exc:
            self.post_message(RunsListed([], describe_exception(exc)))

    def on_runs_listed(self, message: RunsListed) -> None:
        message.stop()
        table = self.query_one(RunsTable)
        current = self.selected_run_id()
        self.summaries = {s.run_id: s for s in message.summaries}
        self.marked = [run_id for run_id in self.marked if run_id in self.summaries]
        table.clear()
        for s in message.summaries:
            table.add_row(*self._cells(s), key=s.run_id)
        if current in self.summaries:
            table.move_cursor(row=table.get_row_index(current))
        count = len(message.summaries)
        info = message.error or f"{count} run{'s' if count != 1 else ''} in {self.runs_dir}. {HINT}"
        self.query_one("#runs-info", Static).update(info)

    def _cells(self, s: RunSummary) -> list[str]:
        started = s.started_at.replace("T", " ")[:16]
        epochs = f"{s.epochs_done}/{s.epochs}" if s.state != "damaged" else "–"
        model = s.model.rstrip("/").split("/")[-1] or s.model  # a hub id's or a folder's own name
        problem = (s.problem or "").removeprefix(f"run {s.run_id}: ") or s.ended or ""  # the row says which
        return [MARK if s.run_id in self.marked else "", ellipsize(s.run_id, MAX_CELL["run"], keep_end=9),
                s.state, epochs, format_metric(s.best_accuracy), format_metric(s.best_f1),
                ellipsize(problem, MAX_CELL["problem"]),
                ellipsize(model, MAX_CELL["model"]), ellipsize(s.dataset, MAX_CELL["dataset"]), started]

    def on_runs_changed(self, message: RunsChanged) -> None:
        message.stop()
        self.reload()

    # -- selection -----------------------------------------------------------------------
    def selected_run_id(self) -> str | None:
        table = self.query_one(RunsTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def _usable(self, run_id: str | None) -> RunSummary | None:
        if run_id is None or run_id not in self.summaries:
            self.post_message(ShowStatus("No run selected.", "warning"))
            return None
        summary = self.summaries[run_id]
        if summary.state == "damaged":
            self.post_message(ShowStatus(f"Cannot use a damaged run: {summary.problem}", "error"))
            return None
        return summary

    def action_toggle_mark(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        self.query_one(RunsTable).update_cell(run_id, "mark", MARK if run_id in self.marked else "")

    @on(DataTable.RowHighlighted, "#runs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Cells are cut to fit; the full model, dataset and problem of the row are shown here.
        summary = self.summaries.get(event.row_key.value)
        self.query_one("#run-problem", Static).update(row_details(summary) if summary else "")

    # -- open / compare ------------------------------------------------------------------
    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open_runs([event.row_key.value])

    def action_compare(self) -> None:
        if len(self.marked) < 2:
            self.post_message(ShowStatus("Mark two runs with space, then press c to compare.", "warning"))
            return
        self.open_runs(self.marked[-2:] if len(self.marked) > 2 else list(self.marked))

    def open_runs(self, run_ids: list[str]) -> None:
        if all(self._usable(run_id) for run_id in run_ids):
            self._load_runs(run_ids)

    @work(thread=True, exclusive=True, group="runs-detail", exit_on_error=False, name="read runs")
    def _load_runs(self, run_ids: list[str]) -> None:
        try:
            runs = [load_run_data(self.runs_dir, run_id) for run_id in run_ids]
        except Exception as exc:
            self.post_message(ShowStatus(describe_exception(exc), "error"))
            return
        self.post_message(RunDataLoaded(runs))

    def on_run_data_loaded(self, message: RunDataLoaded) -> None:
        message.stop()
        self.app.push_screen(RunDetailScreen(message.runs))

    def action_browse_errors(self) -> None:
        """The error browser on the selected run's kept predictions."""
        from lorasent_tui.tui.error_browser import ErrorBrowserScreen

        summary = self._usable(self.selected_run_id())
        if summary is not None:
            self.app.push_screen(ErrorBrowserScreen(summary.path, summary.run_id))

    # -- predict / delete ----------------------------------------------------------------
    def action_predict_with(self) -> None:
        summary = self._usable(self.selected_run_id())
        if summary is None:
            return
        if summary.best_epoch is None and summary.epochs_done == 0:
            self.post_message(ShowStatus(f"Run {summary.run_id} has no trained epoch yet.", "warning"))
            return
        self.post_message(RunReady(summary.run_id, switch_tab=True))

    def action_resume(self) -> None:
        """Continue a stopped, failed or interrupted run, or extend a completed one, on the Train tab.

        Asks first for the total number of epochs.
        """
        run_id = self.selected_run_id()
        if run_id is None or run_id not in self.summaries:
            self.post_message(ShowStatus("No run selected.", "warning"))
            return
        summary = self.summaries[run_id]
        session = self.app.training_session
        if session is not None and session.running:  # before asking anything
            self.post_message(ShowStatus("Training is already running; stop it before resuming a run.",
                                         "warning"))
            return
        if summary.state in (*RESUMABLE_STATES, "completed"):  # the trainer says if it cannot

            def answered(epochs: int | None) -> None:
                if epochs is not None:
                    self.post_message(ResumeRun(run_id, epochs))

            self.app.push_screen(ResumeEpochsScreen(summary), answered)
            return
        why = {
            "running": f"Run {run_id} is still running; only stopped, failed, interrupted or completed "
                       "runs resume.",
            "damaged": f"Cannot resume the damaged run {run_id}: {summary.problem}",
        }.get(summary.state, f"Run {run_id} is {summary.state}; it cannot be resumed.")
        self.post_message(ShowStatus(why, "error" if summary.state == "damaged" else "warning"))

    def action_use_settings(self) -> None:
        summary = self._usable(self.selected_run_id())
        if summary is not None:
            self._read_settings(summary.run_id)

    @work(thread=True, exclusive=True, group="runs-settings", exit_on_error=False, name="read settings")
    def _read_settings(self, run_id: str) -> None:
        try:
            config = RunStore(self.runs_dir).get(run_id).config()
        except Exception as exc:
            self.post_message(ShowStatus(describe_exception(exc), "error"))
            return
        self.post_message(UseSettings(config, run_id))

    def action_delete(self) -> None:
        run_id = self.selected_run_id()
        if run_id is None:
            return
        if self.summaries[run_id].state == "running":
            self.post_message(ShowStatus(f"Run {run_id} is still training; stop it first.", "error"))
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._delete(run_id)

        self.app.push_screen(ConfirmScreen(f"Delete run {run_id}?\nIts folder and adapter are removed."),
                             confirmed)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, name="delete run")
    def _delete(self, run_id: str) -> None:
        try:
            RunStore(self.runs_dir).delete(run_id)
        except Exception as exc:
            self.post_message(ShowStatus(f"Could not delete {run_id}: {describe_exception(exc)}", "error"))
        else:
            self.post_message(ShowStatus(f"Deleted run {run_id}."))
            self.post_message(RunDeleted(run_id))
        self.post_message(RunsListed(RunStore(self.runs_dir).list()))


def row_details(summary: RunSummary) -> Text:
    """The highlighted run in full: what the table's cells cut, and what went wrong."""
    started = summary.started_at.replace("T", " ")[:16]
    text = Text(f"{summary.run_id} · {summary.model} on {summary.dataset} · started {started}")
    if summary.ended:
        text.append(f" · {summary.ended}")
    if summary.problem:
        text.append(f"\n⚠ {summary.problem}", style="bold yellow")
    return text
