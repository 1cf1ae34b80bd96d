"""Hugging Face Hub datasets by name (online, or from the local cache), with one-line errors.

Its train split and its validation (or test) split are used; with only a train split, both are
sampled from it. Never runs dataset code (``trust_remote_code`` stays off); any failure to load
becomes a ``DataError`` that says to pass a local file instead. ``datasets`` is imported lazily.
"""

from __future__ import annotations

from typing import Any

from lorasent_tui.core.data.pipeline import splits_from_predefined, splits_from_rows
from lorasent_tui.core.data.readers import one_line, resolve_columns
from lorasent_tui.core.data.rows import (EVAL_SPLITS, TEST_SPLITS, TRAIN_SPLITS, LabeledRows,
                                         Sampling, Splits)
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import binary_value


def hub_error(name: str, exc: BaseException) -> DataError:
    return DataError(f"dataset '{name}' is not a local file and could not be loaded from the "
                     f"Hugging Face Hub (offline?): {type(exc).__name__}: {one_line(exc)}; "
                     "pass a CSV/JSONL/Parquet path instead")


def column_values(ds: Any, column: str) -> list[Any]:
    values = ds[column]
    return values if isinstance(values, list) else list(values)


def class_label_map(ds: Any, column: str) -> dict[int, Any] | None:
    """A ClassLabel's ids as label values: two word names (e.g. ['pos', 'neg']) map to 0/1 (two
    other names keep their ids 0/1), more than two map to their names (which become classes)."""
    try:
        names = getattr(ds.features[column], "names", None)
    except Exception:  # noqa: BLE001
        return None
    if not names:
        return None
    if len(names) > 2:
        return dict(enumerate(str(n) for n in names))
    mapped = [binary_value(str(n)) for n in names]
    if len(names) != 2 or None in mapped or mapped[0] == mapped[1]:
        return None
    return {0: mapped[0], 1: mapped[1]}


def split_rows(shown: str, ds: Any, split: str, text_col: str, label_col: str) -> LabeledRows:
    """One split of a loaded dataset as rows, ClassLabel ids mapped by their names."""
    columns = [str(c) for c in ds.column_names]
    text_key, label_key, _ = resolve_columns(f"{shown} ({split})", columns, text_col, label_col)
    labels = column_values(ds, label_key)
    mapping = class_label_map(ds, label_key)
    if mapping:
        labels = [mapping.get(v, v) if isinstance(v, int) else v for v in labels]
    return LabeledRows(column_values(ds, text_key), labels, text_key, label_key)


def load_hub(name: str, text_col: str, label_col: str, sampling: Sampling) -> Splits:
    try:
        import datasets

        loaded = datasets.load_dataset(name)
        split_names = list(loaded.keys()) if hasattr(loaded, "keys") else []
    except Exception as exc:  # noqa: BLE001 - wrap anything from datasets into one line
        raise hub_error(name, exc) from None
    if not split_names:
        loaded, split_names = {"train": loaded}, ["train"]
    lower = {str(s).lower(): s for s in split_names}
    train_split = next((lower[s] for s in TRAIN_SPLITS if s in lower), None)
    eval_split = next((lower[s] for s in EVAL_SPLITS + TEST_SPLITS if s in lower), None)
    if train_split is None:
        raise DataError(f"dataset '{name}': no train split (splits: {', '.join(split_names)})")
    shown = f"dataset '{name}'"
    try:
        train_rows = split_rows(shown, loaded[train_split], train_split, text_col, label_col)
        eval_rows = (None if eval_split is None else
                     split_rows(shown, loaded[eval_split], eval_split, text_col, label_col))
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise hub_error(name, exc) from None
    label = f"{name} (Hugging Face Hub)"
    if eval_rows is None:
        return splits_from_rows(shown, train_rows, f"{label}, train split", sampling,
                                notes=[f"{shown}: no validation or test split; sampled eval "
                                       "from train"])
    return splits_from_predefined(shown, train_rows, eval_rows, str(eval_split), label,
                                  sampling, "reviews")
