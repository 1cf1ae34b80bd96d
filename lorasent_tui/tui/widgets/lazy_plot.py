"""A plotext chart widget that costs nothing until it has data.

textual-plotext's ``PlotextPlot`` imports plotext (~0.1 s) and builds a figure in Python on
every render. Every chart on the first screen starts empty, so this widget shows a one-line
placeholder until data arrives, imports plotext only then, and reuses the last figure while
data, size and theme stand (showing a tab renders every chart on it).

A figure is built in one background thread (plotext is pure Python: 10-40 ms a figure on a
slow CPU), so a key pressed while epoch results redraw three charts is not queued behind
them; the previous figure stays on screen until the new one is ready.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widget import Widget

_builder: ThreadPoolExecutor | None = None


def _figure_builder() -> ThreadPoolExecutor:
    # One thread for every chart: figures never compete with each other, and plotext's
    # module-level state is only ever touched from one thread.
    global _builder
    if _builder is None:
        _builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotext")
    return _builder


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
        padding-right: 1;  /* side by side, one chart's caption and frame never touch the next's */
    }
    LazyPlot.-empty { content-align: center middle; color: $text-muted; }
    """

    title = ""
    empty_text = "no data yet"

    @dataclass
    class FigureReady(Message):
        key: Any
        text: Text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._version = 0
        self._rendered: tuple[Any, Text] | None = None
        self._pending: Any = None  # the key of the figure being built

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())
        self.set_class(not self.has_data, "-empty")

    @property
    def has_data(self) -> bool:
        raise NotImplementedError

    def draw(self, plt: Any) -> None:
        """Plot the data on a cleared plotext figure (runs in the figure thread)."""
        raise NotImplementedError

    def caption(self, width: int) -> list[Text]:
        """Lines above the figure (title, legend); none: the figure draws its own title."""
        return []

    def data_changed(self) -> None:
        self._version += 1
        self.set_class(not self.has_data, "-empty")
        self.refresh()

    def render(self) -> Any:
        if not self.has_data:
            return Text(f"{self.title}\n{self.empty_text}" if self.title else self.empty_text)
        key = (self._version, self.size, self.app.theme)
        if self._rendered is not None and self._rendered[0] == key:
            return self._rendered[1]
        if self._pending != key and self.size.area:
            self._pending = key
            _figure_builder().submit(self._build, key, _plotext_theme(self.app))
        if self._rendered is None:
            return Text(f"{self.title}\ndrawing…" if self.title else "drawing…")
        return self._rendered[1]

    def _build(self, key: Any, theme: str) -> None:
        from textual_plotext.plot import Plot

        plt = Plot()
        width, height = key[1]
        try:
            caption = self.caption(width)
            height = max(1, height - len(caption))
            plt.plotsize(width, height)
            plt._set_size(width, height)  # plotsize alone does not always resize (textual-plotext#5)
            plt.theme(theme)
            self.draw(plt)
            text = Text("\n").join([*caption, Text.from_ansi(plt.build())])
        except Exception as exc:  # noqa: BLE001 - a chart that cannot be drawn says so, in place
            text = Text(f"{self.title}\nchart not drawn: {exc}")
        self.post_message(self.FigureReady(key, text))

    def on_lazy_plot_figure_ready(self, message: FigureReady) -> None:
        message.stop()
        if self._pending == message.key:
            self._pending = None
        self._rendered = (message.key, message.text)
        self.refresh()  # renders it, or asks for a newer one if the data moved on meanwhile
