"""Charts for the data preview: label balance per split and review length.

Like the line charts, the title and legend are a caption above the plot, not on the bars.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from lorasent_tui.tui.widgets.charts import PALETTE, caption_lines
from lorasent_tui.tui.widgets.lazy_plot import LazyPlot


class BalanceChart(LazyPlot):
    """Grouped bars: one group per split, one bar per label."""

    title = "Label balance per split"
    empty_text = "not loaded yet"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts: dict[str, dict[str, int]] = {}

    def set_counts(self, counts: dict[str, dict[str, int]]) -> None:
        self.counts = {split: dict(c) for split, c in counts.items()}
        self.data_changed()

    def _splits_and_labels(self) -> tuple[list[str], list[str]]:
        splits = [s for s, c in self.counts.items() if c]
        return splits, sorted({label for s in splits for label in self.counts[s]})

    @property
    def has_data(self) -> bool:
        return all(self._splits_and_labels())

    def caption(self, width: int) -> list[Text]:
        _splits, labels = self._splits_and_labels()
        return caption_lines(self.title, [(label, PALETTE[i % len(PALETTE)]) for i, label in enumerate(labels)],
                             width)

    def draw(self, plt: Any) -> None:
        splits, labels = self._splits_and_labels()
        values = [[self.counts[s].get(label, 0) for s in splits] for label in labels]
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
        if len(labels) == 1:
            plt.bar(splits, values[0], color=colors[0])
        else:
            plt.multiple_bar(splits, values, color=colors)


class LengthHistogram(LazyPlot):
    title = "Review length (words, train split)"
    empty_text = "not loaded yet"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lengths: list[int] = []
        self.unlabeled: list[int] = []  # words per unlabeled text, drawn alongside when present

    def set_lengths(self, lengths: list[int], unlabeled: list[int] | None = None) -> None:
        self.lengths = list(lengths)
        self.unlabeled = list(unlabeled or [])
        self.data_changed()

    @property
    def has_data(self) -> bool:
        return bool(self.lengths)

    def caption(self, width: int) -> list[Text]:
        legend = [("train", PALETTE[0]), ("unlabeled", PALETTE[1])] if self.unlabeled else []
        return caption_lines(self.title, legend, width)

    def draw(self, plt: Any) -> None:
        bins = min(30, max(5, len(set(self.lengths))))
        if not self.unlabeled:
            plt.hist(self.lengths, bins=bins)
            return
        plt.hist(self.lengths, bins=bins, color=PALETTE[0])
        plt.hist(self.unlabeled, bins=bins, color=PALETTE[1])
