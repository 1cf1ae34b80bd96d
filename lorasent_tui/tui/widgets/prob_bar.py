"""A verdict: label, a bar, and the probability, each saying what it measures; one line for
binary sentiment (P(positive)), one bar per class for more classes."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from lorasent_tui.core.labels import LABEL_NAMES

FULL, EMPTY = "█", "░"
NAME_WIDTH = 8  # a class name's cells before its bar; longer names end in "…"
# Sentiment classes in their usual colours; any other class in the neutral one.
CLASS_COLORS = {"very negative": "red", "negative": "red", "neutral": "yellow", "positive": "green",
                "very positive": "green"}


def class_color(name: str) -> str:
    return CLASS_COLORS.get(name, "cyan")


def name_cell(name: str) -> str:
    return f"{name:<{NAME_WIDTH}}" if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 1] + "…"


def label_probability(label: str, score: float, scores: dict[str, float] | None = None) -> float:
    """The probability of the predicted class ``label``: from ``scores`` (every class's) when
    given, else from a binary ``score``, which is P(positive)."""
    if scores and label in scores:
        return scores[label]
    return score if label == LABEL_NAMES[1] else 1.0 - score


def verdict_text(label: str, score: float, width: int = 20, compact: bool = False,
                 scores: dict[str, float] | None = None) -> Text:
    """``positive ████░░ P(positive) 0.72``; compact (table cells): ``negative 0.59 ███░░``.

    ``score`` is P(positive). The compact form has no room to say so, so it shows the
    predicted class's own probability and bar: ``negative 0.59`` means 59% negative (for
    more than two classes, ``scores`` gives it).
    """
    color = class_color(label)
    if compact:
        score = label_probability(label, score, scores)
    score = min(max(score, 0.0), 1.0)
    filled = round(score * width)
    text = Text()
    text.append(f"{name_cell(label)} ", style=f"bold {color}")
    if compact:
        text.append(f"{score:.2f} ")
    text.append(FULL * filled, style=color)
    text.append(EMPTY * (width - filled), style="dim")
    if not compact:
        text.append(f" P(positive) {score:.2f}")
    return text


def class_bars(label: str, scores: dict[str, float], width: int = 20) -> Text:
    """One line per class: its name, a bar and its probability; the predicted class in bold."""
    text = Text()
    for name, probability in scores.items():
        p = min(max(probability, 0.0), 1.0)
        filled = round(p * width)
        chosen = name == label
        text.append("\n" if text.plain else "")
        text.append(f"{name_cell(name)} ", style=f"bold {class_color(name)}" if chosen else class_color(name))
        text.append(FULL * filled, style=class_color(name))
        text.append(EMPTY * (width - filled), style="dim")
        text.append(f" P {p:.2f}", style="bold" if chosen else "")
    return text


class ProbBar(Widget):
    """Shows ``placeholder`` until a prediction arrives (e.g. "loading…")."""

    DEFAULT_CSS = """
    ProbBar {
        height: auto;  /* a long placeholder wraps instead of ending mid-sentence */
        width: 1fr;
    }
    """

    label: reactive[str | None] = reactive(None, layout=True)  # a verdict's lines replace a placeholder's
    score: reactive[float | None] = reactive(None)
    # Every class's probability: one bar each, except binary sentiment's one P(positive) bar.
    scores: reactive[dict[str, float]] = reactive(dict, layout=True)
    placeholder: reactive[str] = reactive("–")

    def show(self, label: str, score: float, scores: dict[str, float] | None = None) -> None:
        self.scores = dict(scores or {})
        self.label, self.score = label, score

    def clear(self, placeholder: str | None = None) -> None:
        """Show no verdict: ``placeholder`` instead, or the current one."""
        self.label, self.score = None, None
        if placeholder is not None:
            self.placeholder = placeholder

    def render(self) -> Text:
        if self.label is None or self.score is None:
            return Text(self.placeholder, style="dim italic")
        if self.scores and tuple(self.scores) != LABEL_NAMES:  # P(positive) means nothing here
            return class_bars(self.label, self.scores, max(5, min(30, self.size.width - 16)))
        # Leave room for the label and the probability text around the bar.
        width = max(5, min(30, self.size.width - 26))
        return verdict_text(self.label, self.score, width)
