"""Cleaning raw rows: empty texts dropped, labels parsed to 0/1, identical texts removed.

Every problem is a ``DataError`` naming the source (file or dataset) and the fix.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from lorasent_tui.core.data.rows import LabeledRows, as_text
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import LABEL_NAMES, LABEL_WORDS


def label_value(value: Any) -> int | None:
    """0 or 1 for a label cell (0/1, a boolean or a label word), None if it is not one."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value) if value in (0, 1) else None
    if isinstance(value, (float, np.floating)):
        return int(value) if value in (0.0, 1.0) else None
    if isinstance(value, str):
        return LABEL_WORDS.get(value.strip().lower())
    return None


def bad_label_repr(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str) and not value.strip():
        return "(empty)"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def clean(name: str, rows: LabeledRows) -> tuple[list[str], np.ndarray, list[str]]:
    """Drop empty texts and parse labels; returns texts, labels and warnings."""
    warnings: list[str] = []
    out_texts: list[str] = []
    out_labels: list[int] = []
    empty = 0
    bad: Counter = Counter()
    first_bad: dict[Any, int] = {}
    cache: dict[Any, int | None] = {}
    for i, (raw_text, raw_label) in enumerate(zip(rows.texts, rows.labels)):
        text = as_text(raw_text)
        if not text.strip():
            empty += 1
            continue
        try:
            value = cache[raw_label] if raw_label in cache else cache.setdefault(
                raw_label, label_value(raw_label))
        except TypeError:  # unhashable (a JSON list or object)
            value = None
        if value is None:
            key = bad_label_repr(raw_label)
            bad[key] += 1
            row = rows.source_rows[i] if rows.source_rows is not None else i
            first_bad.setdefault(key, row + 1)
            continue
        out_texts.append(text)
        out_labels.append(value)
    if bad:
        parts = [f"{k} ({n} row{'s' if n != 1 else ''}, first at row {first_bad[k]})"
                 for k, n in bad.most_common(3)]
        more = f" and {len(bad) - 3} more values" if len(bad) > 3 else ""
        noun = "label" if len(bad) == 1 else "labels"
        raise DataError(
            f"{name}: unrecognised {noun} {', '.join(parts)}{more} in column "
            f"'{rows.label_column}'; labels must be 0/1, true/false or negative/positive (pos/neg)")
    if empty:
        warnings.append(f"{name}: dropped {empty} row{'s' if empty != 1 else ''} with an "
                        "empty text")
    if not out_texts:
        raise DataError(f"{name}: no rows with a non-empty text")
    return out_texts, np.asarray(out_labels, dtype=np.int64), warnings


def check_two_classes(name: str, labels: np.ndarray) -> None:
    present = sorted(set(np.unique(labels).tolist()))
    if len(present) < 2:
        only = LABEL_NAMES[present[0]]
        raise DataError(f"{name}: all {len(labels)} reviews are labelled {only}; both negative "
                        "and positive reviews are needed")


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
