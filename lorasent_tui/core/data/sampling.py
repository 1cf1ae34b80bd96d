"""Balanced, disjoint, seed-determined sampling of train and eval rows.

Each split is exactly balanced; for an odd size the extra review is positive. The eval split
is drawn first from a per-class permutation fixed by the seed, the train split from what
follows, so growing ``train_size`` with the same seed leaves the eval split unchanged (and only
adds reviews to train).
"""

from __future__ import annotations

import numpy as np

from lorasent_tui.core.errors import DataError


def halves(n: int) -> tuple[int, int]:
    """(negative, positive) counts for a balanced split of ``n``; the odd one is positive."""
    return n // 2, n - n // 2


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The random stream of one split: its order depends only on the seed and its own rows."""
    return np.random.default_rng([seed, 1 if split == "eval" else 2])


def is_balanced(labels: list[int]) -> bool:
    pos = sum(labels)
    neg = len(labels) - pos
    return pos - neg in (0, 1)


def sample_indices(
    labels: np.ndarray, train_size: int, eval_size: int, seed: int, what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Balanced, disjoint (train, eval) row indices; eval does not depend on ``train_size``."""
    labels = np.asarray(labels)
    neg = np.flatnonzero(labels == 0)
    pos = np.flatnonzero(labels == 1)
    e_neg, e_pos = halves(eval_size)
    t_neg, t_pos = halves(train_size)
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
    return (split_rng(seed, "train").permutation(train_idx),
            split_rng(seed, "eval").permutation(eval_idx))


def sample_pools(
    train_labels: np.ndarray, eval_labels: np.ndarray, train_size: int, eval_size: int, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(train, eval) indices into predefined train and eval pools, balanced where possible."""
    return (take_balanced(train_labels, train_size, split_rng(seed, "train")),
            take_balanced(eval_labels, eval_size, split_rng(seed, "eval")))


def take_balanced(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` rows, balanced where possible, the other class filling any shortfall."""
    neg = rng.permutation(np.flatnonzero(labels == 0))
    pos = rng.permutation(np.flatnonzero(labels == 1))
    want_neg, want_pos = halves(n)
    take_neg = min(len(neg), want_neg)
    take_pos = min(len(pos), want_pos)
    take_neg = min(len(neg), take_neg + (want_pos - take_pos))
    take_pos = min(len(pos), take_pos + (want_neg - take_neg))
    idx = np.concatenate([neg[:take_neg], pos[:take_pos]])
    return rng.permutation(idx)
