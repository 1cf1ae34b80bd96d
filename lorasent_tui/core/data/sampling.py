"""Disjoint, seed-determined sampling of train and eval rows, per class.

Each split is exactly balanced where the data has enough of every class (for a size that does
not divide evenly the extra rows go to the last classes: for binary data, positive). Otherwise,
or with ``balance`` off, both splits keep the data's class proportions (stratified), every class
in each split where the size allows. The eval split is drawn first from a per-class permutation
fixed by the seed, the train split from what follows, so growing ``train_size`` with the same
seed leaves the eval split unchanged (and only adds rows to train).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lorasent_tui.core.errors import DataError


@dataclass
class Drawn:
    """Indices drawn for one or both splits, and the classes too short for balanced splits."""

    train: np.ndarray
    eval: np.ndarray
    short: list[int]  # class ids; empty when balanced (or when balance was not asked for)
    balanced: bool
    test: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def balanced_sizes(n: int, n_classes: int) -> list[int]:
    """Per-class counts of a balanced split of ``n``; the last classes take the remainder."""
    base, extra = divmod(n, n_classes)
    return [base + (1 if k >= n_classes - extra else 0) for k in range(n_classes)]


def stratified_sizes(n: int, counts: list[int], caps: list[int]) -> list[int]:
    """``n`` rows in proportion to ``counts`` (largest remainder), at most ``caps`` per class,
    and at least one of every class that has a row to give, where ``n`` allows."""
    total = sum(counts)
    if n >= sum(caps):
        return list(caps)
    quotas = [n * c / total for c in counts]
    sizes = [min(int(q), cap) for q, cap in zip(quotas, caps)]
    while sum(sizes) < n:
        k = max((k for k in range(len(sizes)) if sizes[k] < caps[k]),
                key=lambda k: (quotas[k] - sizes[k], counts[k], -k))
        sizes[k] += 1
    for k in range(len(sizes)):
        if sizes[k] == 0 and caps[k] > 0:
            donor = max(range(len(sizes)), key=lambda j: (sizes[j], -j))
            if sizes[donor] <= 1:
                break
            sizes[donor] -= 1
            sizes[k] = 1
    return sizes


SPLIT_STREAMS = {"eval": 1, "train": 2, "test": 3}


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The random stream of one split: its order depends only on the seed and its own rows."""
    return np.random.default_rng([seed, SPLIT_STREAMS[split]])


def is_balanced(labels: list[int], n_classes: int) -> bool:
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    return counts.tolist() == balanced_sizes(len(labels), n_classes)


def class_counts_text(counts: list[int], names: tuple[str, ...]) -> str:
    if len(set(counts)) == 1:
        return f"{counts[0]} per class"
    return ", ".join(f"{c} {name}" for c, name in zip(counts, names))


def sample_indices(labels: np.ndarray, names: tuple[str, ...], train_size: int, eval_size: int,
                   seed: int, what: str, balance: bool = True, test_size: int = 0) -> Drawn:
    """Disjoint (train, eval, test) row indices of one pool; eval does not depend on
    ``train_size``, train and eval do not depend on ``test_size``."""
    labels = np.asarray(labels)
    pools = [np.flatnonzero(labels == k) for k in range(len(names))]
    counts = [len(p) for p in pools]
    if train_size + eval_size > sum(counts):
        raise DataError(
            f"train_size {train_size} + eval_size {eval_size} exceed the {sum(counts)} unique "
            f"reviews of {what} ({class_counts_text(counts, names)}); lower train_size or "
            "eval_size")
    e_sizes = balanced_sizes(eval_size, len(names))
    t_sizes = balanced_sizes(train_size, len(names))
    short = [k for k in range(len(names)) if e_sizes[k] + t_sizes[k] > counts[k]]
    balanced = balance and not short
    if not balanced:
        # Every class keeps a row for train where eval can do without, so each split can hold
        # every class.
        keep_one = [max(c - 1, 0) for c in counts]
        e_sizes = stratified_sizes(eval_size, counts,
                                   keep_one if sum(keep_one) >= eval_size else counts)
        t_sizes = stratified_sizes(train_size, counts, [c - e for c, e in zip(counts, e_sizes)])
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(pool) for pool in pools]
    eval_idx = np.concatenate([p[:e] for p, e in zip(perms, e_sizes)])
    train_idx = np.concatenate([p[e:e + t] for p, e, t in zip(perms, e_sizes, t_sizes)])
    # Interleave the classes; each order depends only on the seed and that split's rows.
    drawn = Drawn(split_rng(seed, "train").permutation(train_idx),
                  split_rng(seed, "eval").permutation(eval_idx),
                  short if balance else [], balanced)
    if test_size:
        left = [c - e - t for c, e, t in zip(counts, e_sizes, t_sizes)]
        if test_size > sum(left):
            raise DataError(
                f"test_size {test_size} exceeds the {sum(left)} reviews of {what} left after "
                f"train and eval; lower test_size, train_size or eval_size")
        s_sizes = balanced_sizes(test_size, len(names))
        if not balanced or any(s > n for s, n in zip(s_sizes, left)):
            s_sizes = stratified_sizes(test_size, counts, left)
        test_idx = np.concatenate([p[len(p) - s:] for p, s in zip(perms, s_sizes)])
        drawn.test = split_rng(seed, "test").permutation(test_idx)
    return drawn


def take(labels: np.ndarray, n_classes: int, n: int,
         rng: np.random.Generator, balance: bool = True) -> tuple[np.ndarray, list[int], bool]:
    """Up to ``n`` rows of a predefined pool: indices, short classes (as in ``Drawn``) and
    whether the rows are balanced."""
    perms = [rng.permutation(np.flatnonzero(labels == k)) for k in range(n_classes)]
    counts = [len(p) for p in perms]
    sizes = balanced_sizes(min(n, sum(counts)), n_classes)
    short = [k for k in range(n_classes) if sizes[k] > counts[k]]
    balanced = balance and not short
    if not balanced:
        sizes = stratified_sizes(n, counts, counts)
    idx = np.concatenate([p[:s] for p, s in zip(perms, sizes)])
    return rng.permutation(idx), (short if balance else []), balanced
