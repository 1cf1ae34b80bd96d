"""Plotext line charts that keep their data, so a resize or theme change redraws them.

Each chart holds a list of ``Series`` and redraws everything from it; ``series`` is
public so tests (and the compare view) can read what a chart shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lorasent_tui.tui.widgets.lazy_plot import LazyPlot


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    marker: str = "braille"
    color: Any = None
    # Step-level points are many and noisy: drawn as a line without markers at each point.
    style: str = "line"  # line | scatter

    def __post_init__(self) -> None:
        self.xs = [float(x) for x in self.xs]
        self.ys = [float(y) for y in self.ys]


@dataclass
class ChartSpec:
    title: str
    xlabel: str = ""
    ylabel: str = ""
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    extra: list[Series] = field(default_factory=list)  # always drawn (e.g. the ROC diagonal)


def epoch_series(rows: list[dict[str, Any]], keys: tuple[tuple[str, str], ...],
                 prefix: str = "") -> list[Series]:
    """One series per (metric key, label) over the epochs that have the metric."""
    series = []
    for key, label in keys:
        points = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
        if points:
            series.append(Series(f"{prefix}{label}", *zip(*points)))
    return series


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

    def set_title(self, title: str) -> None:
        self.spec.title = title
        self.data_changed()

    @property
    def has_data(self) -> bool:
        return any(s.xs for s in self.series)

    def draw(self, plt: Any) -> None:
        plt.title(self.spec.title)
        if self.spec.xlabel:
            plt.xlabel(self.spec.xlabel)
        if self.spec.ylabel:
            plt.ylabel(self.spec.ylabel)
        if self.spec.xlim:
            plt.xlim(*self.spec.xlim)
        if self.spec.ylim:
            plt.ylim(*self.spec.ylim)
        for s in [s for s in self.series if s.xs] + self.spec.extra:
            options: dict[str, Any] = {"marker": s.marker}
            if s.label:
                options["label"] = s.label
            if s.color is not None:
                options["color"] = s.color
            draw = plt.scatter if s.style == "scatter" or len(s.xs) == 1 else plt.plot
            draw(s.xs, s.ys, **options)


class LossChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChartSpec("Loss", xlabel="epoch"), **kwargs)

    def show_losses(self, rows: list[dict[str, Any]], steps: list[tuple[float, float]] = (),
                    prefix: str = "") -> list[Series]:
        """Series for per-epoch train/validation loss and per-logging-step train loss."""
        series = []
        if steps:
            series.append(Series(f"{prefix}step loss", [x for x, _ in steps], [y for _, y in steps],
                                 marker="dot", color="gray"))
        return series + epoch_series(rows, (("train_loss", "train"), ("eval_loss", "validation")), prefix)


class ScoreChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ChartSpec("Accuracy & F1", xlabel="epoch"), **kwargs)

    @staticmethod
    def score_series(rows: list[dict[str, Any]], prefix: str = "") -> list[Series]:
        return epoch_series(rows, (("accuracy", "accuracy"), ("f1", "F1")), prefix)


class RocChart(LineChart):
    def __init__(self, **kwargs: Any) -> None:
        diagonal = Series("", [0.0, 1.0], [0.0, 1.0], marker="dot", color="gray")
        spec = ChartSpec("ROC", xlabel="FPR", ylabel="TPR", xlim=(0, 1), ylim=(0, 1), extra=[diagonal])
        super().__init__(spec, **kwargs)

    def set_series(self, series: list[Series]) -> None:
        # A narrow chart drops its legend, so a single curve names itself in the title.
        self.spec.title = f"ROC {series[0].label}" if len(series) == 1 else "ROC"
        super().set_series(series)

    @staticmethod
    def roc_series(roc: dict[str, Any] | None, label: str) -> list[Series]:
        if not roc or not roc.get("fpr"):
            return []
        auc = roc.get("auc")
        text = f"{label} AUC {auc:.3f}" if isinstance(auc, (int, float)) else label
        return [Series(text, roc["fpr"], roc["tpr"])]
