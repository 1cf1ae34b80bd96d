"""A plotext chart widget that costs nothing until it has data.

textual-plotext's ``PlotextPlot`` imports plotext (~0.1 s) and builds a figure in Python on
every render. Every chart on the first screen starts empty, so this widget shows a one-line
placeholder until data arrives, imports plotext only then, and reuses the last figure while
data, size and theme stand (showing a tab renders every chart on it).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget


def _plotext_theme(app: Any) -> str:
    """Register (once) and name a plotext theme matching the app's Textual theme."""
    from plotext._dict import themes
    from textual.color import Color
    from textual_plotext.plot import _rgbify_theme, _sequence

    name = f"textual-auto-{app.theme}"
    if name not in themes:
        variables = app.theme_variables
        surface = Color.parse(variables.get("surface")).rgb
        foreground = Color.parse(variables.get("foreground")).rgb
        themes[name] = _rgbify_theme(surface, surface, foreground, "default", _sequence)
    return name


class LazyPlot(Widget):
    DEFAULT_CSS = """
    LazyPlot {
        width: 1fr;
        height: 1fr;
        min-height: 8;
        min-width: 20;
    }
    LazyPlot.-empty { content-align: center middle; color: $text-muted; }
    """

    title = ""
    empty_text = "no data yet"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._version = 0
        self._rendered: tuple[Any, Text] | None = None

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())
        self.set_class(not self.has_data, "-empty")

    @property
    def has_data(self) -> bool:
        raise NotImplementedError

    def draw(self, plt: Any) -> None:
        """Plot the data on a cleared plotext figure."""
        raise NotImplementedError

    def data_changed(self) -> None:
        self._version += 1
        self.set_class(not self.has_data, "-empty")
        self.refresh()

    def render(self) -> Any:
        if not self.has_data:
            return Text(f"{self.title}\n{self.empty_text}" if self.title else self.empty_text)
        key = (self._version, self.size, self.app.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, self._build())
        return self._rendered[1]

    def _build(self) -> Text:
        from textual_plotext.plot import Plot

        plt = Plot()
        width, height = self.size
        plt.plotsize(width, height)
        plt._set_size(width, height)  # plotsize alone does not always resize (textual-plotext#5)
        plt.theme(_plotext_theme(self.app))
        self.draw(plt)
        return Text.from_ansi(plt.build())
