"""Plotext line charts that keep their data, so a resize or theme change redraws them.

Each chart holds a list of ``Series`` and redraws everything from it; ``series`` is
public so tests (and the compare view) can read what a chart shows. The title and the
legend are a caption above the plot, never inside it: plotext's own legend sits on the
plot area and covers the curves of a small chart, and its axis labels share one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.color import Color
from rich.style import Style
from rich.text import Text

from lorasent_tui.tui.widgets.lazy_plot import LazyPlot

RGB = tuple[int, int, int]
# Series colours, in order; explicit so the caption's legend can show the same ones.
PALETTE: tuple[RGB, ...] = ((70, 140, 240), (240, 150, 40), (80, 190, 110), (200, 90, 200),
                            (60, 195, 215), (220, 80, 80))
GRAY: RGB = (130, 130, 130)


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    color: RGB | None = None  # None: the next palette colour
    # Per-epoch values are few: each gets a marker on the line. Step losses and ROC curves
    # are many points: a thin line only (markers on every point would draw a dotted band).
    points: bool = False

    def __post_init__(self) -> None:
        self.xs = [float(x) for x in self.xs]
        self.ys = [float(y) for y in self.ys]


@dataclass
class ChartSpec:
    title: str
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    extra: list[Series] = field(default_factory=list)  # always drawn, never in the legend


def epoch_series(rows: list[dict[str, Any]], keys: tuple[tuple[str, str], ...],
                 prefix: str = "") -> list[Series]:
    """One series per (metric key, label) over the epochs that have the metric."""
    series = []
    for key, label in keys:
        points = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
        if points:
            series.append(Series(f"{prefix}{label}", *zip(*points), points=True))
    return series


def caption_lines(title: str, entries: list[tuple[str, RGB]], width: int) -> list[Text]:
    """The title, then ``━ label`` per series in its colour, wrapped to ``width``."""
    lines = [Text(title, style="bold")]
    for label, rgb in entries:
        entry = Text("━ ", style=Style(color=Color.from_rgb(*rgb)))
        entry.append(label)
        line = lines[-1]
        if line.cell_len + 2 + entry.cell_len > width and line.plain:
            lines.append(Text())
            line = lines[-1]
        if line.plain:
            line.append("  ")
        line.append_text(entry)
    for line in lines:  # one row each: the figure below gets exactly the rest of the height
        line.truncate(width, overflow="ellipsis")
    return lines


class LineChart(LazyPlot):
    empty_text = "no epoch yet"

    def __init__(self, spec: ChartSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.series: list[Series] = []

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.spec.title

    def set_series(self, series: list[Series]) -> None:
        self.series = list(series)
        self.data_changed()

    @property
    def has_data(self) -> bool:
        return any(s.xs for s in self.series)

    def colored(self) -> list[tuple[Series, RGB]]:
        """Each series with data and its colour: its own, or the palette's next."""
        shown = [s for s in self.series if s.xs]
        return [(s, s.color or PALETTE[i % len(PALETTE)]) for i, s in enumerate(shown)]

    def caption(self, width: int) -> list[Text]:
        return caption_lines(self.spec.title, [(s.label, rgb) for s, rgb in self.colored() if s.label],
                             width)

    def draw(self, plt: Any) -> None:
        if self.spec.xlim:
            plt.xlim(*self.spec.xlim)
        if self.spec.ylim:
            plt.ylim(*self.spec.ylim)
        for s, rgb in [(s, s.color or GRAY) for s in self.spec.extra] + self.colored():
            if len(s.xs) > 1:
                plt.plot(s.xs, s.ys, marker="braille", color=rgb)
            if s.points or len(s.xs) == 1:
                plt.scatter(s.xs, s.ys, marker="dot", color=rgb)


class LossChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChartSpec("Loss by epoch"), **kwargs)

    def show_losses(self, rows: list[dict[str, Any]], steps: list[tuple[float, float]] = (),
                    prefix: str = "") -> list[Series]:
        """Series for per-epoch train/validation loss and per-logging-step train loss."""
        series = []
        if steps:
            series.append(Series(f"{prefix}step loss", [x for x, _ in steps], [y for _, y in steps],
                                 color=GRAY))
        return series + epoch_series(rows, (("train_loss", "train"), ("eval_loss", "validation")), prefix)


class ScoreChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChartSpec("Accuracy & F1 by epoch"), **kwargs)

    @staticmethod
    def score_series(rows: list[dict[str, Any]], prefix: str = "") -> list[Series]:
        # Binary runs have "f1" (of the positive class), runs with more classes "f1_macro".
        return epoch_series(rows, (("accuracy", "accuracy"), ("f1", "F1"), ("f1_macro", "macro-F1")),
                            prefix)


class RocChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        diagonal = Series("", [0.0, 1.0], [0.0, 1.0], color=GRAY)
        spec = ChartSpec("ROC · TPR against FPR", xlim=(0, 1), ylim=(0, 1), extra=[diagonal])
        super().__init__(spec, **kwargs)

    @staticmethod
    def roc_series(roc: dict[str, Any] | None, label: str, digits: int = 3) -> list[Series]:
        """A binary run's curve, or one curve per class (one-vs-rest) of a run with more:
        roc.json's ``{"classes": {name: {"fpr", "tpr", "auc"}}}``."""
        if not roc:
            return []
        if isinstance(roc.get("classes"), dict):  # two AUC digits: a legend entry per class fits
            return [series for name, curve in roc["classes"].items() if isinstance(curve, dict)
                    for series in RocChart.roc_series(curve, f"{label} {name}", digits=2)]
        if not roc.get("fpr"):
            return []
        auc = roc.get("auc")
        text = f"{label} AUC {auc:.{digits}f}" if isinstance(auc, (int, float)) else label
        return [Series(text, roc["fpr"], roc["tpr"])]
