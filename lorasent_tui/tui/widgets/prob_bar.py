"""A one-line verdict: label, a bar, and the probability, each saying what it measures."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lorasent_tui.core.labels import LABEL_NAMES

FULL, EMPTY = "█", "░"


def verdict_text(label: str, score: float, width: int = 20, compact: bool = False) -> Text:
    """``positive ████░░ P(positive) 0.72``; compact (table cells): ``negative 0.59 ███░░``.

    ``score`` is P(positive). The compact form has no room to say so, so it shows the
    predicted class's own probability and bar: ``negative 0.59`` means 59% negative.
    """
    score = min(max(score, 0.0), 1.0)
    positive = label == LABEL_NAMES[1]
    color = "green" if positive else "red"
    if compact and not positive:
        score = 1.0 - score
    filled = round(score * width)
    text = Text()
    text.append(f"{label:<8} ", style=f"bold {color}")
    if compact:
        text.append(f"{score:.2f} ")
    text.append(FULL * filled, style=color)
    text.append(EMPTY * (width - filled), style="dim")
    if not compact:
        text.append(f" P(positive) {score:.2f}")
    return text


class ProbBar(Widget):
    """Shows ``placeholder`` until a prediction arrives (e.g. "loading…")."""

    DEFAULT_CSS = """
    ProbBar {
        height: auto;  /* a long placeholder wraps instead of ending mid-sentence */
        width: 1fr;
    }
    """

    label: reactive[str | None] = reactive(None)
    score: reactive[float | None] = reactive(None)
    placeholder: reactive[str] = reactive("–")

    def show(self, label: str, score: float) -> None:
        self.label, self.score = label, score

    def clear(self, placeholder: str | None = None) -> None:
        """Show no verdict: ``placeholder`` instead, or the current one."""
        self.label, self.score = None, None
        if placeholder is not None:
            self.placeholder = placeholder

    def render(self) -> Text:
        if self.label is None or self.score is None:
            return Text(self.placeholder, style="dim italic")
        # Leave room for the label and the probability text around the bar.
        width = max(5, min(30, self.size.width - 26))
        return verdict_text(self.label, self.score, width)
