"""A one-line verdict: label, a bar for P(positive), and the probability."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lorasent_tui.core.labels import LABEL_NAMES

FULL, EMPTY = "█", "░"


def verdict_text(label: str, score: float, width: int = 20, compact: bool = False) -> Text:
    """``positive ████░░ P(positive) 0.72``; compact (table cells): ``positive 0.72 ████░░``."""
    score = min(max(score, 0.0), 1.0)
    filled = round(score * width)
    color = "green" if label == LABEL_NAMES[1] else "red"
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
        height: 1;
        width: 1fr;
    }
    """

    label: reactive[str | None] = reactive(None)
    score: reactive[float | None] = reactive(None)
    placeholder: reactive[str] = reactive("–")

    def show(self, label: str, score: float) -> None:
        self.label, self.score = label, score

    def clear(self, placeholder: str = "–") -> None:
        self.label, self.score, self.placeholder = None, None, placeholder

    def render(self) -> Text:
        if self.label is None or self.score is None:
            return Text(self.placeholder, style="dim italic")
        # Leave room for the label and the probability text around the bar.
        width = max(5, min(30, self.size.width - 26))
        return verdict_text(self.label, self.score, width)
