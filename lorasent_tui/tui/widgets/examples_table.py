"""The Predict tab's reference examples, each with the untrained base's and the fine-tuned model's
verdict, scored in a worker whenever the loaded models change."""

from __future__ import annotations

from typing import Any, Callable

from textual import work
from textual.widgets import DataTable

from lorasent_tui.core.errors import describe_exception
from lorasent_tui.tui.messages import ExamplesReady, ShowStatus
from lorasent_tui.tui.widgets.prob_bar import verdict_text

EXAMPLES = (
    "It was good.",
    "Not a fan, don't recommend.",
    "Better than the first one.",
    "This is not worth watching even once.",
    "This one is a pass.",
)
EXAMPLE_BAR = 8  # cells of the verdicts' bars


class ExamplesTable(DataTable):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._request = 0  # answers for models no longer loaded are dropped by number

    def on_mount(self) -> None:
        self.add_column("Text", key="text")
        # Fixed widths: widening a column on update left stale, cut-off rows on screen.
        width = verdict_text("negative", 0.5, EXAMPLE_BAR, compact=True).cell_len
        self.add_column("Untrained", key="base", width=width)
        self.add_column("Fine-tuned", key="trained", width=width)
        for index, text in enumerate(EXAMPLES):
            self.add_row(text, "–", "–", key=f"ex{index}")

    def clear_trained(self) -> None:
        """The fine-tuned model is gone: its verdicts, and those still on their way, with it."""
        self._request += 1
        for index in range(len(EXAMPLES)):
            self.update_cell(f"ex{index}", "trained", "–")

    def score(self, predict: Callable[[Any, list[str]], list[Any] | None], base: Any, trained: Any) -> None:
        """Score the examples with ``predict(model, texts)`` (None for a model not loaded)."""
        self._request += 1
        self._score(predict, base, trained, self._request)

    @work(thread=True, exclusive=True, group="examples", exit_on_error=False, name="examples")
    def _score(self, predict: Callable[[Any, list[str]], list[Any] | None], base: Any, trained: Any,
               request: int) -> None:
        try:
            base_verdicts = predict(base, list(EXAMPLES))
            trained_verdicts = predict(trained, list(EXAMPLES))
        except Exception as exc:
            self.post_message(ShowStatus(f"Prediction failed: {describe_exception(exc)}", "error"))
            return
        self.post_message(ExamplesReady(base_verdicts, trained_verdicts, request))

    def on_examples_ready(self, message: ExamplesReady) -> None:
        message.stop()
        if message.request != self._request:
            return
        for column, verdicts in (("base", message.base), ("trained", message.trained)):
            for index, verdict in enumerate(verdicts or []):
                self.update_cell(f"ex{index}", column,
                                 verdict_text(verdict.label, verdict.score, EXAMPLE_BAR, compact=True,
                                              scores=verdict.scores))
