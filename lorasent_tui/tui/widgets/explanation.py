"""Why this label, on screen: the text with its words coloured by how they pushed the verdict
(green towards the label, red away, stronger colour for a stronger push) and a short ranked list.

``ExplanationView.explain(compute, what)`` runs ``compute`` (e.g. ``Services.explain``: seconds
for a long text) in a thread worker and shows what it returns; ``show`` shows an explanation
already at hand. Any screen can use it: the Predict tab for the typed review, a browser of
examples for the selected one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from lorasent_tui.core.errors import describe_exception

TOWARDS_RGB = (0, 150, 60)
AWAY_RGB = (190, 30, 30)
NEUTRAL_RGB = (60, 60, 60)  # where the colour of the weakest push starts
FAINT = 0.1  # pushes weaker than this share of the strongest are not coloured


def word_style(score: float, strongest: float) -> Style | None:
    """The highlight of a word's score, its strength relative to the strongest push shown."""
    strength = min(1.0, abs(score) / strongest) if strongest > 0 else 0.0
    if strength < FAINT:
        return None
    target = TOWARDS_RGB if score > 0 else AWAY_RGB
    rgb = [round(n + (t - n) * strength) for n, t in zip(NEUTRAL_RGB, target)]
    return Style(color="white", bgcolor=Color.from_rgb(*rgb), bold=strength >= 0.5)


def highlighted(explanation: Any) -> Text:
    """The whole text, each explained word styled by its score."""
    words = explanation.words
    strongest = max((abs(w.score) for w in words), default=0.0)
    text = Text(no_wrap=False)
    position = 0
    for word in words:
        text.append(explanation.text[position:word.start])
        text.append(explanation.text[word.start:word.end], style=word_style(word.score, strongest))
        position = word.end
    text.append(explanation.text[position:])
    return text


def ranked_line(title: str, words: list[Any], strongest: float) -> Text:
    line = Text.assemble((f"{title}: ", "bold"))
    for index, word in enumerate(words):
        if index:
            line.append(" · ", style="dim")
        line.append(word.word, style=word_style(word.score, strongest))
        line.append(f" {word.score:+.2f}", style="dim")
    if not words:
        line.append("no word", style="dim italic")
    return line


def explanation_text(explanation: Any, source: str = "") -> Text:
    """Heading, the highlighted text, then the words ranked towards and away from the label."""
    strongest = max((abs(w.score) for w in explanation.words), default=0.0)
    heading = Text.assemble((f"Why {explanation.target}", "bold"))
    heading.append(f" (P {explanation.probability:.2f}{', ' + source if source else ''}): ")
    heading.append("green", style=word_style(1.0, 1.0))
    heading.append(" pushed towards it, ")
    heading.append("red", style=word_style(-1.0, 1.0))
    heading.append(" away.")
    if explanation.part:
        heading.append(f" Long text: explained on {explanation.part}.", style="italic")
    return Text("\n").join([heading, highlighted(explanation),
                            ranked_line(f"towards {explanation.target}", explanation.top_for(), strongest),
                            ranked_line("away from it", explanation.top_against(), strongest)])


class ExplanationView(VerticalScroll):
    DEFAULT_CSS = """
    ExplanationView { height: auto; max-height: 12; }
    ExplanationView > Static { height: auto; }
    ExplanationView > Static.-note { color: $text-muted; text-style: italic; }
    """

    @dataclass
    class Ready(Message):
        request: int
        explanation: Any  # core.explain.Explanation
        source: str

    @dataclass
    class Failed(Message):
        request: int
        why: str

    def __init__(self, placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.placeholder = placeholder
        self.explanation: Any = None  # the one shown
        self._request = 0

    def compose(self) -> ComposeResult:
        yield Static(self.placeholder, classes="-note")

    def show(self, explanation: Any, source: str = "") -> None:
        """Show ``explanation`` (``source``: which model, e.g. "run X"); any answer on its way is dropped."""
        self._request += 1
        self.explanation = explanation
        self._body(explanation_text(explanation, source), note=False)

    def show_note(self, note: str) -> None:
        self._request += 1
        self.explanation = None
        self._body(Text(note), note=True)

    def clear(self) -> None:
        """Back to the placeholder (the text or the model changed)."""
        self.show_note(self.placeholder)

    def explain(self, compute: Callable[[], Any], source: str) -> None:
        """Run ``compute`` (returns an Explanation; slow) in a worker and show its answer."""
        self.show_note(f"Explaining with {source}… (a long text takes seconds)")
        self._compute(compute, source, self._request)

    def _body(self, content: Text, note: bool) -> None:
        body = self.query_one(Static)
        body.set_class(note, "-note")
        body.update(content)
        self.scroll_home(animate=False)

    @work(thread=True, exclusive=True, group="explain", exit_on_error=False, name="explain")
    def _compute(self, compute: Callable[[], Any], source: str, request: int) -> None:
        try:
            explanation = compute()
        except Exception as exc:  # noqa: BLE001 - shown in the view, never as a traceback
            self.post_message(self.Failed(request, describe_exception(exc)))
            return
        self.post_message(self.Ready(request, explanation, source))

    def on_explanation_view_ready(self, message: Ready) -> None:
        message.stop()
        if message.request == self._request:  # else the text or the model changed meanwhile
            self.show(message.explanation, message.source)

    def on_explanation_view_failed(self, message: Failed) -> None:
        message.stop()
        if message.request == self._request:
            self.show_note(f"Could not explain: {message.why}")
