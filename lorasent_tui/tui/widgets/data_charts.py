"""Charts for the data preview: label balance per split and review length."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot


class BalanceChart(PlotextPlot):
    """Grouped bars: one group per split, one bar per label."""

    DEFAULT_CSS = """
    BalanceChart {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts: dict[str, dict[str, int]] = {}

    def on_mount(self) -> None:
        self._draw()

    def set_counts(self, counts: dict[str, dict[str, int]]) -> None:
        self.counts = {split: dict(c) for split, c in counts.items()}
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title("Label balance per split")
        splits = [s for s, c in self.counts.items() if c]
        labels = sorted({label for s in splits for label in self.counts[s]})
        if splits and labels:
            values = [[self.counts[s].get(label, 0) for s in splits] for label in labels]
            if len(labels) == 1:
                plt.bar(splits, values[0], label=labels[0])
            else:
                plt.multiple_bar(splits, values, labels=labels)
        self.refresh()


class LengthHistogram(PlotextPlot):
    DEFAULT_CSS = """
    LengthHistogram {
        height: 1fr;
        min-height: 8;
    }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lengths: list[int] = []

    def on_mount(self) -> None:
        self._draw()

    def set_lengths(self, lengths: list[int]) -> None:
        self.lengths = list(lengths)
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        plt.title("Review length (words, train split)")
        if self.lengths:
            plt.hist(self.lengths, bins=min(30, max(5, len(set(self.lengths)))))
        self.refresh()
