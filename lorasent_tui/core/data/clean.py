"""Cleaning raw rows: empty texts dropped, labels read as class ids, identical texts removed.

Every problem is a ``DataError`` naming the source (file or dataset) and the fix.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.data.rows import LabeledRows, as_text
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import LabelError, class_ids, class_name


def bad_label_repr(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str) and not value.strip():
        return "(empty)"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def clean(name: str, rows: LabeledRows) -> tuple[list[str], list[Any], list[str]]:
    """Drop empty texts and check labels; returns texts, label values and warnings.

    The label values are hashable and non-empty; ``encode`` turns them into class ids.
    """
    warnings: list[str] = []
    out_texts: list[str] = []
    out_labels: list[Any] = []
    empty = 0
    bad: Counter = Counter()
    first_bad: dict[Any, int] = {}
    for i, (raw_text, raw_label) in enumerate(zip(rows.texts, rows.labels)):
        text = as_text(raw_text)
        if not text.strip():
            empty += 1
            continue
        if isinstance(raw_label, np.generic):
            raw_label = raw_label.item()
        try:
            hash(raw_label)
            usable = class_name(raw_label) is not None
        except TypeError:  # unhashable (a JSON list or object)
            usable = False
        if not usable:
            key = bad_label_repr(raw_label)
            bad[key] += 1
            row = rows.source_rows[i] if rows.source_rows is not None else i
            first_bad.setdefault(key, row + 1)
            continue
        out_texts.append(text)
        out_labels.append(raw_label)
    if bad:
        parts = [f"{k} ({n} row{'s' if n != 1 else ''}, first at row {first_bad[k]})"
                 for k, n in bad.most_common(3)]
        more = f" and {len(bad) - 3} more values" if len(bad) > 3 else ""
        noun = "label" if len(bad) == 1 else "labels"
        raise DataError(
            f"{name}: unreadable {noun} {', '.join(parts)}{more} in column "
            f"'{rows.label_column}'; every row needs a label: a class name or number")
    if empty:
        warnings.append(f"{name}: dropped {empty} row{'s' if empty != 1 else ''} with an "
                        "empty text")
    if not out_texts:
        raise DataError(f"{name}: no rows with a non-empty text")
    return out_texts, out_labels, warnings


def encode(name: str, column: str, pools: Sequence[list[Any]],
           given: Sequence[str] | None) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """The class names of all pools' label values, and each pool's class ids."""
    try:
        names, ids = class_ids((v for pool in pools for v in pool), given)
    except LabelError as exc:
        raise DataError(f"{name}: {exc} (column '{column}'); fix the data or --labels") from None
    return names, [np.asarray([ids[v] for v in pool], dtype=np.int64) for pool in pools]


def check_classes(name: str, labels: np.ndarray, names: tuple[str, ...]) -> None:
    """At least two classes, and at least two rows of every class (one per split)."""
    counts = np.bincount(labels, minlength=len(names))
    present = np.flatnonzero(counts)
    if len(present) < 2:
        raise DataError(f"{name}: all {len(labels)} reviews are labelled {names[present[0]]}; "
                        "at least two classes are needed")
    few = [f"{names[k]} ({counts[k]})" for k in range(len(names)) if counts[k] < 2]
    if few:
        raise DataError(f"{name}: fewer than 2 reviews of class {', '.join(few)}; every class "
                        "needs one for train and one for eval: add reviews or remove its rows")


def dedupe(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray, int, int]:
    """Keep the first of identical texts; returns texts, labels, removed, label conflicts."""
    first: dict[str, int] = {}
    keep: list[int] = []
    conflicts = 0
    for i, text in enumerate(texts):
        key = text.strip()
        j = first.get(key)
        if j is None:
            first[key] = i
            keep.append(i)
        elif labels[j] != labels[i]:
            conflicts += 1
    removed = len(texts) - len(keep)
    if not removed:
        return texts, labels, 0, 0
    return [texts[i] for i in keep], labels[np.asarray(keep, dtype=np.int64)], removed, conflicts
