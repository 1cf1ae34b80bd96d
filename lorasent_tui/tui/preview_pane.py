"""The Train tab's data preview: label balance, review lengths and a few samples.

Loading the dataset (seconds for a hub dataset) happens in a thread worker; the same
settings are not loaded twice unless asked.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import describe_exception
from lorasent_tui.tui.messages import PreviewLoaded, ShowStatus
from lorasent_tui.tui.services import build_preview
from lorasent_tui.tui.widgets.data_charts import BalanceChart, LengthHistogram


# What load_splits reads: a change to any of them loads the preview again.
DATA_SETTINGS = ("dataset", "text_column", "label_column", "labels", "balance", "train_size",
                 "eval_size", "test_size", "seed", "unlabeled", "unlabeled_size")


def preview_key(config: TrainConfig) -> str:
    return repr(tuple(getattr(config, name) for name in DATA_SETTINGS))


def unlabeled_line(source: str, lengths: list[int]) -> str:
    """The unlabeled pool's size and length profile (words: median and the middle 80%)."""
    if not lengths:
        return f"Unlabeled: no texts from {source}"
    ordered = sorted(lengths)

    def at(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (f"Unlabeled: {len(ordered):,} texts from {source}, median {at(0.5)} words "
            f"(10–90%: {at(0.1)}–{at(0.9)})")


class DataPreviewPane(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loaded_key: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Press 'Preview data' to load the dataset.", id="preview-info")
        with Horizontal(id="preview-charts"):
            yield BalanceChart(id="balance-chart")
            yield LengthHistogram(id="length-chart")
        yield DataTable(id="preview-samples", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#preview-samples", DataTable).add_columns("Split", "Label", "Review")

    def load(self, config: TrainConfig, force: bool = False) -> None:
        key = preview_key(config)
        if key == self._loaded_key and not force:
            return
        self._loaded_key = key
        self.query_one("#preview-info", Static).update(f"Loading {config.dataset}…")
        self._load(config)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False, name="preview")
    def _load(self, config: TrainConfig) -> None:
        try:
            data = self.app.services.data
            splits = data.load_splits(config)
            pool = data.unlabeled_pool(config, splits) if config.unlabeled else None
            preview = build_preview(splits, unlabeled=pool, unlabeled_source=config.unlabeled or "")
        except Exception as exc:
            self._loaded_key = None
            self.post_message(ShowStatus(f"Data preview failed: {describe_exception(exc)}", "error"))
            return
        self.post_message(PreviewLoaded(preview))

    def on_preview_loaded(self, message: PreviewLoaded) -> None:
        message.stop()
        preview = message.preview
        sizes = ", ".join(f"{split} {sum(c.values())}" for split, c in preview.counts.items())
        info = f"{preview.source or 'dataset'}: {sizes}"
        if preview.unlabeled_source:
            info += "\n" + unlabeled_line(preview.unlabeled_source, preview.unlabeled_lengths)
        if preview.warnings:
            info += "\n⚠ " + "\n⚠ ".join(preview.warnings)
        self.query_one("#preview-info", Static).update(info)
        self.query_one(BalanceChart).set_counts(preview.counts)
        self.query_one(LengthHistogram).set_lengths(preview.lengths, preview.unlabeled_lengths)
        table = self.query_one("#preview-samples", DataTable)
        table.clear()
        for split, label, text in preview.samples:
            table.add_row(split, label, text[:300])
