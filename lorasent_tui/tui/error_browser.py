"""The error browser: a run's kept predictions (validation, test, each evaluation), confidently
wrong first, filtered by class, correctness and a search; the selected example's whole text, and
``e`` explains its verdict (the words that pushed towards the predicted class)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Select, Static

from lorasent_tui.core.errors import describe_exception
from lorasent_tui.tui.run_screen import RunScreen
from lorasent_tui.tui.widgets.explanation import ExplanationView

ROWS_SHOWN = 500  # of the filtered order: a table of 25,000 rows would make every filter slow
TEXT_START = 70  # characters of each text in the table
ANY = "*"
NO_PREDICTIONS = ("This run has no kept predictions: runs trained before predictions were kept "
                  "have none (train it again, or evaluate it, to get them).")
EXPLAIN_HINT = "e explains the selected example's verdict: the words that pushed it."
CORRECTNESS_CHOICES = [("all examples", "all"), ("wrong only", "wrong"), ("right only", "right")]


def text_start(text: str, width: int = TEXT_START) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def count_line(shown: int, matching: int, total: int, wrong: int) -> str:
    line = f"{matching:,} of {total:,} shown · {wrong:,} wrong"
    if shown < matching:
        line += f" · the table lists the first {shown:,} (highest loss); filter or search to narrow"
    return line


class ErrorBrowserScreen(RunScreen):
    FRAME_ID = "browser"
    DEFAULT_CSS = """
    ErrorBrowserScreen #browser-filters { height: auto; }
    ErrorBrowserScreen #browser-source { width: 28; }
    ErrorBrowserScreen #browser-true { width: 20; }
    ErrorBrowserScreen #browser-predicted { width: 24; }
    ErrorBrowserScreen #browser-correct { width: 21; }
    ErrorBrowserScreen #browser-search { width: 1fr; min-width: 16; }
    ErrorBrowserScreen #browser-count { height: 1; color: $text-muted; }
    ErrorBrowserScreen #browser-table { height: 1fr; min-height: 6; }
    ErrorBrowserScreen #browser-text { height: auto; max-height: 8; border-top: solid $primary; }
    ErrorBrowserScreen #browser-text > Static { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="errors-close"),
        Binding("e", "explain", "Explain", id="errors-explain"),
        Binding("slash", "search", "Search", id="errors-search"),
    ]

    @dataclass
    class Loaded(Message):
        request: int
        browsed: Any  # core.browse.BrowsedSet, or None with ``why``
        why: str = ""

    def __init__(self, run_path: Path, run_id: str, source_key: str | None = None) -> None:
        super().__init__()
        self.run_path = Path(run_path)
        self.run_id = run_id
        self.sources: list[Any] = []  # core.browse.PredictionSource, read on mount
        self.source_key = source_key
        self.browsed: Any = None  # the set shown
        self.order: Any = []  # its filtered indices, in the table's order
        self._request = 0
        self._predictor: Any = None  # the run's, loaded by the first explanation
        self._predictor_lock = threading.Lock()

    def compose_frame(self) -> ComposeResult:
        yield Static(f"Errors of run {self.run_id}", id="browser-title", classes="run-title")
        with Horizontal(id="browser-filters"):
            yield Select([], prompt="Prediction set", id="browser-source")
            yield Select([], prompt="True class", id="browser-true")
            yield Select([], prompt="Predicted", id="browser-predicted")
            yield Select(CORRECTNESS_CHOICES, value="all", allow_blank=False, id="browser-correct")
            yield Input(placeholder="search (/)", id="browser-search")
        yield Static("", id="browser-count")
        yield DataTable(id="browser-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="browser-text"):
            yield Static("", id="browser-full-text")
        yield ExplanationView(EXPLAIN_HINT, id="browser-explanation")

    def on_mount(self) -> None:
        from lorasent_tui.core.browse import prediction_sources

        table = self.query_one(DataTable)
        for key, label in (("loss", "loss"), ("true", "true"), ("predicted", "predicted"),
                           ("p", "P(pred.)"), ("text", "text")):
            table.add_column(label, key=key)
        self.sources = prediction_sources(self.run_path)
        if not self.sources:
            self._note(NO_PREDICTIONS)
            return
        keys = [s.key for s in self.sources]
        chosen = self.source_key if self.source_key in keys else keys[0]
        source_select = self.query_one("#browser-source", Select)
        source_select.set_options([(s.title, s.key) for s in self.sources])
        with self.prevent(Select.Changed):
            source_select.value = chosen
        self._load(chosen)
        table.focus()

    def _note(self, note: str) -> None:
        self.query_one("#browser-count", Static).update(note)

    # -- loading -------------------------------------------------------------------------
    def _load(self, key: str) -> None:
        self.source_key = key
        self._request += 1
        self._note("Reading the predictions…")
        self._read(key, self._request)

    @work(thread=True, exclusive=True, group="errors-read", exit_on_error=False, name="errors-read")
    def _read(self, key: str, request: int) -> None:
        from lorasent_tui.core.browse import load_browsed

        source = next(s for s in self.sources if s.key == key)
        try:
            browsed = load_browsed(self.run_path, source)
        except Exception as exc:  # noqa: BLE001 - a damaged file: one line, never a traceback
            self.post_message(self.Loaded(request, None, describe_exception(exc)))
            return
        self.post_message(self.Loaded(request, browsed))

    def on_error_browser_screen_loaded(self, message: Loaded) -> None:
        if message.request != self._request:
            return
        self.browsed = message.browsed
        if message.browsed is None:
            self.query_one(DataTable).clear()
            self._note(message.why)
            return
        for select_id, what in (("#browser-true", "true"), ("#browser-predicted", "predicted")):
            select = self.query_one(select_id, Select)
            with self.prevent(Select.Changed):
                select.set_options([(f"{what}: any", ANY)] + [
                    (f"{what}: {name}", str(k)) for k, name in enumerate(message.browsed.names)])
                select.value = ANY
        self._refresh()

    # -- filtering -----------------------------------------------------------------------
    def example_filter(self) -> Any:
        from lorasent_tui.core.browse import ExampleFilter

        def class_of(select_id: str) -> int | None:
            value = self.query_one(select_id, Select).value
            return int(value) if isinstance(value, str) and value != ANY else None

        correct = self.query_one("#browser-correct", Select).value
        return ExampleFilter(class_of("#browser-true"), class_of("#browser-predicted"),
                             correct if isinstance(correct, str) else "all",
                             self.query_one("#browser-search", Input).value)

    def _refresh(self) -> None:
        from lorasent_tui.core.browse import browse_order

        browsed = self.browsed
        if browsed is None:
            return
        self.order = browse_order(browsed, self.example_filter())
        shown = self.order[:ROWS_SHOWN]
        table = self.query_one(DataTable)
        table.clear()
        names = browsed.names
        for index in shown:
            index = int(index)
            table.add_row(f"{browsed.loss[index]:.3f}", names[int(browsed.predictions.y_true[index])],
                          names[int(browsed.predicted[index])], f"{browsed.confidence(index):.2f}",
                          text_start(browsed.text(index)), key=str(index))
        self._note(count_line(len(shown), len(self.order), len(browsed.predictions),
                              int(browsed.wrong[self.order].sum()) if len(self.order) else 0))
        self._show_text(int(shown[0]) if len(shown) else None)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "browser-source":
            if isinstance(event.value, str) and event.value != self.source_key:
                self._load(event.value)
        else:
            self._refresh()

    @on(Input.Changed, "#browser-search")
    def _search_changed(self) -> None:
        self._refresh()

    @on(Input.Submitted, "#browser-search")
    def _search_submitted(self) -> None:
        self.query_one(DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#browser-search", Input).focus()

    # -- the selected example ------------------------------------------------------------
    def selected_index(self) -> int | None:
        table = self.query_one(DataTable)
        if self.browsed is None or not table.row_count:
            return None
        return int(self.order[table.cursor_row])

    @on(DataTable.RowHighlighted, "#browser-table")
    def _row_highlighted(self) -> None:
        self._show_text(self.selected_index())

    def _show_text(self, index: int | None) -> None:
        self.query_one(ExplanationView).clear()
        body = self.query_one("#browser-full-text", Static)
        if index is None:
            body.update("")
            return
        browsed = self.browsed
        text = browsed.text(index) or "(this set was saved without its texts)"
        true, predicted = (browsed.names[int(browsed.predictions.y_true[index])],
                           browsed.names[int(browsed.predicted[index])])
        body.update(f"#{browsed.predictions.ids[index]} · true {true} · predicted {predicted} "
                    f"(P {browsed.confidence(index):.2f}) · loss {browsed.loss[index]:.3f}\n{text}")
        self.query_one("#browser-text", VerticalScroll).scroll_home(animate=False)

    def action_explain(self) -> None:
        """Why the run predicts the selected example's class, computed in a worker."""
        index = self.selected_index()
        view = self.query_one(ExplanationView)
        text = self.browsed.text(index) if index is not None else ""
        if not text:
            view.show_note("Select an example with its text to explain first.")
            return
        target = self.browsed.names[int(self.browsed.predicted[index])]
        services, run_id = self.app.services, self.run_id
        view.explain(lambda: services.explain(self._run_predictor(), text, run_id=run_id, target=target),
                     f"run {run_id}")

    def _run_predictor(self) -> Any:
        """The run's predictor, loaded once (thread only: loading takes seconds)."""
        with self._predictor_lock:
            if self._predictor is None:
                services = self.app.services
                self._predictor = services.predictors.from_run(self.run_id, services.runs_dir)
            return self._predictor
