"""The Predict tab: untrained base vs fine-tuned model, side by side, as you type.

Loading predictors (seconds: torch) and predicting (~10 ms) both happen in thread
workers, so typing never waits; answers to stale requests are dropped by number. The
fine-tuned model runs on the backend chosen here (``core.onnx_backend.BACKENDS``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.message import Message
from textual.widgets import Input, Label, Static

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import LorasentError, describe_exception
from lorasent_tui.core.predict import mostly_non_latin
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.file_scoring import FileScoring
from lorasent_tui.tui.messages import PredictionsReady, PredictorsLoaded, ShowStatus
from lorasent_tui.tui.widgets.examples_table import ExamplesTable
from lorasent_tui.tui.widgets.explanation import ExplanationView
from lorasent_tui.tui.widgets.prob_bar import ProbBar

DEBOUNCE_SECONDS = 0.3
NO_RUN_HINT = "train a model, or pick a run on the Runs tab (p)"
EXPLAIN_HINT = "ctrl+e explains the verdict: the words that pushed it."
NON_LATIN_NOTE = ("Mostly non-Latin script: the bundled model was trained on English text, "
                  "so these scores may mean little.")
# The fine-tuned model's backend, in the order the switch key cycles through them; auto: the
# run's ONNX export when it is of its best epoch, else torch (the TUI predicts on the CPU).
BACKEND_CYCLE = ("auto", "torch", "onnx")


def backend_text(model: Any) -> str:
    """What a loaded Predictor runs on: "ONNX int8", "ONNX fp32", "torch bf16"."""
    if model.backend.name == "onnx":
        return f"ONNX {model.backend.quantization or 'fp32'}"
    return f"torch {model.precision}"


def reading_note(model: Any, text: str) -> str:
    """What the user should know about how ``text`` was read; called in the predict worker."""
    notes = [model.reading(text).describe(), NON_LATIN_NOTE if mostly_non_latin(text) else ""]
    return " ".join(note for note in notes if note)


def base_key(config: TrainConfig) -> tuple[Any, ...]:
    """Settings that change what the untrained base predicts; same key, same predictor."""
    return (config.model, config.seed, config.max_length, config.truncation, config.sliding_windows,
            config.window_layout)


class PredictPanel(Vertical):
    BINDINGS = [
        # Not in the footer: every tab shows the same footer keys (one layout per tab switch);
        # the line above the verdicts names this key instead.
        Binding("ctrl+o", "switch_backend", "Backend", show=False, id="predict-backend"),
        Binding("ctrl+g", "export_onnx", "Export ONNX", show=False, id="predict-export-onnx"),
        Binding("ctrl+f", "score_file", "Score a file", show=False, id="predict-score-file"),
        # Priority: the review Input, focused here, has ctrl+e for End (the End key still does that).
        Binding("ctrl+e", "explain", "Explain", show=False, id="predict-explain", priority=True),
    ]

    @dataclass
    class BackendSwitched(Message):
        """The loaded run on another backend; ``trained`` None: not possible (``why``)."""

        run_id: str
        backend: str
        trained: Any
        why: str
        request: int

    @dataclass
    class OnnxExported(Message):
        run_id: str
        folder: str

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base: Any = None
        self.trained: Any = None
        self.run_id: str | None = None
        self.backend = "auto"  # the user's choice for the fine-tuned model
        self._requested_backend = "auto"  # the choice being loaded, ahead of ``backend``
        self._loading_run: str | None = None
        self._base_key: tuple[Any, ...] | None = None
        self._load_request = 0
        self._predict_request = 0
        self._loading = False
        self._debounce: Timer | None = None
        # Predictors are shared by overlapping workers (exclusive only flags old threads).
        self._model_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Static("No model loaded yet.", id="predict-source")
        yield Input(placeholder="Type a movie review… (predictions update as you type; Enter = now)",
                    id="review")
        yield Static("", id="reading-note")
        with Horizontal(id="verdicts"):
            with Vertical(classes="verdict"):
                yield Label("Untrained base", id="base-title", classes="verdict-title")
                yield ProbBar(id="base-bar")
            with Vertical(classes="verdict"):
                yield Label("Fine-tuned: no run loaded", id="trained-title", classes="verdict-title")
                yield ProbBar(id="trained-bar")
        yield ExplanationView(EXPLAIN_HINT, id="explanation")
        yield Label("Reference examples: the predicted class and its probability", classes="section-title")
        yield ExamplesTable(id="examples")
        yield FileScoring(id="file-scoring")

    def on_mount(self) -> None:
        self.query_one("#trained-bar", ProbBar).clear(NO_RUN_HINT)

    # -- loading -------------------------------------------------------------------------
    def ensure_base(self, config: TrainConfig) -> None:
        """Load the untrained base for ``config`` unless it (or a run) is loaded or loading."""
        if self._loading or self.run_id is not None or self._base_key == base_key(config):
            return
        self._start_load(config, None)

    def load_run(self, run_id: str) -> None:
        self._start_load(None, run_id)

    def _start_load(self, config: TrainConfig | None, run_id: str | None) -> None:
        self._load_request += 1  # a backend switch in flight is dropped too
        self._requested_backend = self.backend
        self._loading = True
        self._loading_run = run_id
        what = f"fine-tuned model from run {run_id}" if run_id else "untrained base model"
        self.query_one("#predict-source", Static).update(f"Loading {what}… (this can take a few seconds)")
        self.query_one("#base-bar", ProbBar).clear("loading…")
        if run_id:
            self.query_one("#trained-bar", ProbBar).clear("loading…")
        self._load(config, run_id, self.backend, self._load_request)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="load predictors")
    def _load(self, config: TrainConfig | None, run_id: str | None, backend: str, request: int) -> None:
        services = self.app.services
        try:
            trained = None
            if run_id is not None:
                # The base must be the same model the run fine-tuned.
                config = RunStore(services.runs_dir).get(run_id).config()
                try:
                    trained = services.predictors.from_run(run_id, services.runs_dir, backend=backend)
                except LorasentError:
                    if backend != "onnx":
                        raise
                    # This run has no current export: it still loads; on_predictors_loaded says so.
                    trained = services.predictors.from_run(run_id, services.runs_dir, backend="auto")
            assert config is not None
            key = base_key(config)
            base = self.base if key == self._base_key else services.predictors.from_base(config)
        except Exception as exc:
            self.post_message(PredictorsLoaded(None, None, run_id, None, request))
            self.post_message(ShowStatus(f"Could not load the model: {describe_exception(exc)}", "error"))
            return
        self.post_message(PredictorsLoaded(base, trained, run_id, key, request))

    def on_predictors_loaded(self, message: PredictorsLoaded) -> None:
        message.stop()
        if message.request != self._load_request:
            return
        self._loading, self._loading_run = False, None
        if message.base is None:  # failed; the status line says why
            if message.run_id is not None:  # never keep scoring with the run loaded before
                self._unload(f"Run {message.run_id} could not be loaded (see the status line)")
            else:
                self.query_one("#predict-source", Static).update("Loading failed, see the status line.")
                self._show_predictors()
            return
        self.base, self._base_key = message.base, message.base_key
        if message.run_id is not None:
            self.trained, self.run_id = message.trained, message.run_id
            if self.backend == "onnx" and self.trained.backend.name != "onnx":
                self.backend = self._requested_backend = "auto"
                self.app.show_status(f"Run {self.run_id} has no ONNX export of its best epoch, so it runs "
                                     f"on {backend_text(self.trained)} (backend auto).", "warning")
        self._rescore()

    def _rescore(self) -> None:
        self._show_predictors()
        self.query_one(ExamplesTable).score(self._predict_one, self.base, self.trained)
        self.predict_now()

    def _show_predictors(self, note: str = "") -> None:
        self.query_one(ExplanationView).clear()  # the model explained may have changed
        source = (f"Run {self.run_id} vs its untrained base (backend {self.backend}; ctrl+o switches)."
                  if self.run_id else f"Untrained base only (fine-tuned backend: {self.backend}).")
        self.query_one("#predict-source", Static).update(f"{note}. {source}" if note else source)
        title = (f"Fine-tuned: {self.run_id} · {backend_text(self.trained)}" if self.run_id
                 else "Fine-tuned: no run loaded")
        self.query_one("#trained-title", Label).update(title)
        for bar_id, model in (("#base-bar", self.base), ("#trained-bar", self.trained)):
            if model is not None:
                self.query_one(bar_id, ProbBar).clear("type a review")
        if self.trained is None:
            self.query_one("#trained-bar", ProbBar).clear(NO_RUN_HINT)

    # -- the fine-tuned model's backend --------------------------------------------------
    def action_switch_backend(self) -> None:
        """The next backend of BACKEND_CYCLE; the loaded run reloads on it, or keeps its own."""
        if self._loading:
            self.app.show_status("A model is loading; switch the backend once it is loaded.", "warning")
            return
        backend = BACKEND_CYCLE[(BACKEND_CYCLE.index(self._requested_backend) + 1) % len(BACKEND_CYCLE)]
        self._requested_backend = backend
        if self.run_id is None:
            self.backend = backend
            self._show_predictors()
            self.app.show_status(f"The fine-tuned model will run on backend {backend} once a run is loaded.")
            return
        self._load_request += 1  # a switch asked for before is dropped
        self.query_one("#predict-source", Static).update(f"Loading run {self.run_id} on backend {backend}…")
        self._switch_backend(self.run_id, backend, self._load_request)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, name="switch backend")
    def _switch_backend(self, run_id: str, backend: str, request: int) -> None:
        services = self.app.services
        try:
            trained = services.predictors.from_run(run_id, services.runs_dir, backend=backend)
        except Exception as exc:
            self.post_message(self.BackendSwitched(run_id, backend, None, describe_exception(exc), request))
            return
        self.post_message(self.BackendSwitched(run_id, backend, trained, "", request))

    def on_predict_panel_backend_switched(self, message: BackendSwitched) -> None:
        message.stop()
        if message.request != self._load_request or message.run_id != self.run_id:
            return  # another run was loaded (or this one unloaded) meanwhile
        if message.trained is None:  # the next press goes on past the refused choice
            self._show_predictors()
            self.app.show_status(f"Backend {message.backend} is not possible: {message.why}; "
                                 f"still on {backend_text(self.trained)}.", "warning")
            return
        self.trained, self.backend = message.trained, message.backend
        self._rescore()
        self.app.show_status(f"Run {self.run_id} runs on {backend_text(self.trained)} now "
                             f"(backend {self.backend}).")

    def action_export_onnx(self) -> None:
        if self.run_id is None:
            self.app.show_status("No fine-tuned run is loaded to export.", "warning")
            return
        self.app.show_status(f"Exporting run {self.run_id} as ONNX int8… (about a minute; predicting goes on)")
        self._export_onnx(self.run_id)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, name="export onnx")
    def _export_onnx(self, run_id: str) -> None:
        services = self.app.services
        try:
            folder = services.predictors.export_onnx(run_id, services.runs_dir)
        except Exception as exc:
            self.post_message(ShowStatus(f"ONNX export failed: {describe_exception(exc)}", "error"))
            return
        self.post_message(self.OnnxExported(run_id, str(folder)))

    def on_predict_panel_onnx_exported(self, message: OnnxExported) -> None:
        message.stop()
        self.app.show_status(f"Exported run {message.run_id} as ONNX int8 to {message.folder}.")
        if message.run_id == self.run_id and self.backend != "torch" and not self._loading:
            self.load_run(message.run_id)  # auto and onnx now run on the export

    def action_score_file(self) -> None:
        if self.run_id is None:
            self.app.show_status(f"No fine-tuned run is loaded to score a file with: {NO_RUN_HINT}.", "warning")
            return
        self.query_one(FileScoring).ask(self.run_id, self.backend)

    def forget_run(self, run_id: str, why: str) -> None:
        """Run ``run_id`` is gone (``why``: e.g. "deleted"): stop loading or scoring with it."""
        if self._loading_run == run_id:
            self._load_request += 1  # its answer, if any comes, is dropped
            self._loading, self._loading_run = False, None
            if self.run_id is None:
                self._unload(f"Run {run_id} was {why}")
        if self.run_id == run_id:
            self._unload(f"Run {run_id} was {why}, so it is unloaded")

    def _unload(self, note: str) -> None:
        self.trained, self.run_id = None, None
        self._show_predictors(note)
        self.query_one(ExamplesTable).clear_trained()
        self.predict_now()  # the base's verdict stays meaningful; the other bar is cleared

    # -- predicting ----------------------------------------------------------------------
    @on(Input.Changed, "#review")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one(ExplanationView).clear()
        if self._debounce is not None:
            self._debounce.stop()
        if not event.value.strip():
            self._clear_verdicts()  # at once: scores of the text just erased no longer apply
            return
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self.predict_now)

    @on(Input.Submitted, "#review")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self.predict_now()

    def predict_now(self) -> None:
        text = self.query_one("#review", Input).value.strip()
        if not text:
            self._clear_verdicts()
            return
        self._predict_request += 1
        if self.base is not None or self.trained is not None:
            self._predict(text, self._predict_request)

    def action_explain(self) -> None:
        """Why the fine-tuned model (else the base) labels the typed review as it does, in a worker."""
        text = self.query_one("#review", Input).value.strip()
        model, run_id = (self.trained, self.run_id) if self.trained is not None else (self.base, None)
        view = self.query_one(ExplanationView)
        if not text or model is None:
            view.show_note("Type a review to explain first." if not text else "No model is loaded yet.")
            return
        services = self.app.services
        view.explain(lambda: services.explain(model, text, run_id=run_id),
                     f"run {run_id}" if run_id else "the untrained base")

    def _clear_verdicts(self) -> None:
        self._predict_request += 1  # answers still on their way are for an older text
        for bar in self.query(ProbBar):
            bar.clear()
        self.query_one("#reading-note", Static).update("")

    def _predict_one(self, model: Any, texts: list[str]) -> list[Any] | None:
        if model is None:
            return None
        with self._model_lock:
            return list(model.predict(texts))

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False, name="predict")
    def _predict(self, text: str, request: int) -> None:
        try:
            base = self._predict_one(self.base, [text])
            trained = self._predict_one(self.trained, [text])
            with self._model_lock:
                note = reading_note(self.trained or self.base, text)
        except Exception as exc:
            self.post_message(ShowStatus(f"Prediction failed: {describe_exception(exc)}", "error"))
            return
        self.post_message(PredictionsReady(request, text, base and base[0], trained and trained[0], note))

    def on_predictions_ready(self, message: PredictionsReady) -> None:
        message.stop()
        if message.request != self._predict_request:
            return
        for bar_id, pred in (("#base-bar", message.base), ("#trained-bar", message.trained)):
            if pred is not None:
                self.query_one(bar_id, ProbBar).show(pred.label, pred.score, pred.scores)
        self.query_one("#reading-note", Static).update(message.note)
