"""Hugging Face Hub datasets by name (online, or from the local cache), with one-line errors.

Never runs dataset code (``trust_remote_code`` stays off); any failure to load becomes a
``DataError`` that says to pass a local file instead.
"""

from __future__ import annotations

from typing import Any

from lorasent_tui.core.data import (_EVAL_SPLITS, _TEST_SPLITS, _TRAIN_SPLITS, Splits, _from_pools,
                                    _pick, _sample_indices)
from lorasent_tui.core.datafiles import (LABEL_WORDS, check_two_classes, clean, dedupe, resolve_columns,
                                         short)
from lorasent_tui.core.errors import DataError


def _hub_error(name: str, reason: str) -> DataError:
    return DataError(f"dataset '{name}' is not a local file and could not be loaded from the "
                     f"Hugging Face Hub (offline?): {reason}; pass a CSV/JSONL/Parquet path "
                     "instead")


def _hub_column(ds: Any, column: str) -> list[Any]:
    values = ds[column]
    return values if isinstance(values, list) else list(values)


def _class_label_map(ds: Any, column: str) -> dict[int, int] | None:
    """For a ClassLabel with word names (e.g. ['pos', 'neg']), map its ids to 0/1."""
    try:
        names = getattr(ds.features[column], "names", None)
    except Exception:  # noqa: BLE001
        return None
    if not names or len(names) != 2:
        return None
    mapped = [LABEL_WORDS.get(str(n).strip().lower()) for n in names]
    if None in mapped or mapped[0] == mapped[1]:
        return None
    return {0: mapped[0], 1: mapped[1]}


def load_hub(name: str, text_col: str, label_col: str,
              train_size: int, eval_size: int, seed: int) -> Splits:
    try:
        import datasets

        loaded = datasets.load_dataset(name)
        split_names = list(loaded.keys()) if hasattr(loaded, "keys") else []
    except Exception as exc:  # noqa: BLE001 - wrap anything from datasets into one line
        raise _hub_error(name, f"{type(exc).__name__}: {short(exc)}") from None
    if not split_names:
        loaded, split_names = {"train": loaded}, ["train"]
    lower = {str(s).lower(): s for s in split_names}
    train_split = next((lower[s] for s in _TRAIN_SPLITS if s in lower), None)
    eval_split = next((lower[s] for s in _EVAL_SPLITS + _TEST_SPLITS if s in lower), None)
    if train_split is None:
        raise DataError(f"dataset '{name}': no train split (splits: {', '.join(split_names)})")
    shown = f"dataset '{name}'"
    try:
        pools = {}
        label_key = label_col
        for role, split in (("train", train_split), ("eval", eval_split)):
            if split is None:
                continue
            ds = loaded[split]
            columns = [str(c) for c in ds.column_names]
            text_key, label_key, _ = resolve_columns(f"{shown} ({split})", columns,
                                                      text_col, label_col)
            texts = _hub_column(ds, text_key)
            labels = _hub_column(ds, label_key)
            mapping = _class_label_map(ds, label_key)
            if mapping:
                labels = [mapping.get(v, v) if isinstance(v, int) else v for v in labels]
            pools[role] = (texts, labels, list(range(len(texts))))
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _hub_error(name, f"{type(exc).__name__}: {short(exc)}") from None
    label = f"{name} (Hugging Face Hub)"
    if eval_split is None:
        texts, labels, _ = pools["train"]
        clean_texts, clean_labels, _, warnings = clean(shown, texts, labels, label_key)
        check_two_classes(shown, clean_labels)
        clean_texts, clean_labels, removed, _ = dedupe(clean_texts, clean_labels)
        if removed:
            warnings.append(f"{shown}: removed {removed} duplicate reviews before sampling")
        warnings.append(f"{shown}: no validation or test split; sampled eval from train")
        train_idx, eval_idx = _sample_indices(clean_labels, train_size, eval_size, seed, shown)
        return _pick(clean_texts, clean_labels, train_idx, clean_texts, clean_labels, eval_idx,
                     f"{label}, train split", warnings)
    return _from_pools(shown, label, pools["train"], pools["eval"], str(eval_split), label_key,
                       train_size, eval_size, seed, "reviews")


# ---------------------------------------------------------------------------------------------
