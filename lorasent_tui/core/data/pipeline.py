"""From raw rows to ``Splits``: clean → classes → dedupe → sample, the one sequence every source uses.

* ``splits_from_rows``: one pool (built-in data, a file, a Hub dataset with only a train split);
  identical texts are removed before sampling, so no text is in both splits.
* ``splits_from_predefined``: predefined train and eval pools (a file's ``split`` column, a
  Hub dataset's splits); eval texts also in the train pool are dropped from eval, and a test
  split (``test_size``) is drawn from the train pool's rows that train did not take.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.data.clean import check_classes, clean, dedupe, encode
from lorasent_tui.core.data.rows import LabeledRows, Sampling, Splits
from lorasent_tui.core.data.sampling import (balanced_sizes, sample_indices, split_rng,
                                             take)
from lorasent_tui.core.errors import DataError


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def usable_rows(name: str, rows: LabeledRows, given: Sequence[str] | None = None,
                warn_duplicates: bool = True,
                ) -> tuple[list[str], np.ndarray, tuple[str, ...], list[str]]:
    """Clean rows of every class with identical texts removed: texts, class ids, names, warnings."""
    texts, values, warnings = clean(name, rows)
    names, (labels,) = encode(name, rows.label_column, [values], given)
    texts, labels, removed, conflicts = dedupe(texts, labels)
    if removed and warn_duplicates:
        note = (f"; {conflicts} of them had a different label (the first was kept)"
                if conflicts else "")
        warnings.append(f"{name}: removed {plural(removed, 'duplicate review')} before "
                        f"sampling, so none is in both train and eval{note}")
    check_classes(name, labels, names)
    return texts, labels, names, warnings


def short_warning(name: str, names: tuple[str, ...], short: list[int], counts: list[int],
                  needed: list[int], what: str) -> list[str]:
    """The one line saying which classes are too small for balanced splits."""
    if not short:
        return []
    parts = ", ".join(f"{names[k]} ({counts[k]} of {needed[k]})" for k in short)
    return [f"{name}: too few reviews of {parts} for balanced {what}; sampled in the data's "
            "class proportions instead (--balance false does so without this warning)"]


def splits_from_rows(name: str, rows: LabeledRows, label: str, sampling: Sampling, *,
                     warn_duplicates: bool = True, notes: Sequence[str] = ()) -> Splits:
    """Disjoint splits sampled from one pool; ``notes`` are added to the warnings."""
    texts, labels, names, warnings = usable_rows(name, rows, sampling.labels, warn_duplicates)
    drawn = sample_indices(labels, names, sampling.train_size, sampling.eval_size,
                           sampling.seed, name, sampling.balance, sampling.test_size)
    counts = np.bincount(labels, minlength=len(names)).tolist()
    needed = [t + e for t, e in zip(balanced_sizes(sampling.train_size, len(names)),
                                    balanced_sizes(sampling.eval_size, len(names)))]
    warnings += short_warning(name, names, drawn.short, counts, needed, "splits")
    return pick((texts, labels, drawn.train), (texts, labels, drawn.eval), label, names,
                drawn.balanced, warnings + list(notes), (texts, labels, drawn.test))


def splits_from_predefined(name: str, train_rows: LabeledRows, eval_rows: LabeledRows,
                           eval_name: str, label: str, sampling: Sampling, unit: str) -> Splits:
    """Subsample predefined train and eval pools, balanced where possible.

    Eval texts that also occur in the train pool are removed (with a warning), so the eval
    split is the same whatever ``train_size`` is.
    """
    t_texts, t_values, warnings = clean(f"{name} (train)", train_rows)
    e_texts, e_values, eval_warnings = clean(f"{name} ({eval_name})", eval_rows)
    warnings += eval_warnings
    names, (t_labels, e_labels) = encode(name, train_rows.label_column, [t_values, e_values],
                                         sampling.labels)
    check_classes(f"{name} (train)", t_labels, names)
    train_keys = {t.strip() for t in t_texts}
    keep = [i for i, t in enumerate(e_texts) if t.strip() not in train_keys]
    shared = len(e_texts) - len(keep)
    if shared:
        warnings.append(f"{name}: {plural(shared, eval_name + ' review')} also in the train "
                        "split; removed from eval")
        if not keep:
            raise DataError(f"{name}: every {eval_name} review is also in the train split")
        e_texts = [e_texts[i] for i in keep]
        e_labels = e_labels[np.asarray(keep, dtype=np.int64)]
    chosen = []
    all_balanced = True
    for split, labels, want, rng_name in (("train", t_labels, sampling.train_size, "train"),
                                          (eval_name, e_labels, sampling.eval_size, "eval")):
        idx, short, balanced = take(labels, len(names), want, split_rng(sampling.seed, rng_name),
                                    sampling.balance)
        chosen.append(idx)
        all_balanced = all_balanced and balanced
        size_field = "train_size" if split == "train" else "eval_size"
        if len(idx) < want:
            warnings.append(f"{name}: the {split} split has only {len(idx)} usable {unit}; "
                            f"using all of them ({size_field} {want})")
        counts = np.bincount(labels, minlength=len(names)).tolist()
        needed = balanced_sizes(min(want, len(labels)), len(names))
        warnings += short_warning(name, names, short, counts, needed, f"{split} split")
    test = held_out(name, t_texts, t_labels, chosen[0], names, sampling)
    return pick((t_texts, t_labels, chosen[0]), (e_texts, e_labels, chosen[1]),
                f"{label}, train/{eval_name} splits", names, all_balanced, warnings, test)


def held_out(name: str, texts: list[str], labels: np.ndarray, train_idx: np.ndarray,
             names: tuple[str, ...], sampling: Sampling) -> tuple[list[str], np.ndarray, Any]:
    """The test split of predefined pools: rows of the train pool that train did not take
    (nor any text identical to one it took), so it is disjoint from train and from eval."""
    if not sampling.test_size:
        return texts, labels, np.zeros(0, dtype=np.int64)
    taken = {texts[i].strip() for i in train_idx}
    rest = [i for i in range(len(texts)) if texts[i].strip() not in taken]
    if len(rest) < sampling.test_size:
        raise DataError(f"{name}: test_size {sampling.test_size} exceeds the {len(rest)} train "
                        "rows that train_size leaves; lower test_size or train_size")
    rest_idx = np.asarray(rest, dtype=np.int64)
    idx, _short, _balanced = take(labels[rest_idx], len(names), sampling.test_size,
                                  split_rng(sampling.seed, "test"), sampling.balance)
    return texts, labels, rest_idx[idx]


def pick(train: tuple[list[str], np.ndarray, Any], eval_: tuple[list[str], np.ndarray, Any],
         label: str, names: tuple[str, ...], balanced: bool, warnings: list[str],
         test: tuple[list[str], np.ndarray, Any]) -> Splits:
    """Splits holding the chosen rows of each (texts, labels, indices) pool."""
    (train_texts, train_labels, train_idx), (eval_texts, eval_labels, eval_idx) = train, eval_
    test_texts, test_labels, test_idx = test
    picked_train = train_labels[train_idx].tolist()
    picked_eval = eval_labels[eval_idx].tolist()
    balance = "balanced" if balanced else "stratified"
    sizes = f"{len(picked_train)}/{len(picked_eval)}" + (f"/{len(test_idx)}" if len(test_idx) else "")
    return Splits(train_texts=[train_texts[i] for i in train_idx], train_labels=picked_train,
                  eval_texts=[eval_texts[i] for i in eval_idx], eval_labels=picked_eval,
                  source=f"{label}, {sizes} {balance}", warnings=warnings, label_names=names,
                  test_texts=[test_texts[i] for i in test_idx],
                  test_labels=test_labels[test_idx].tolist())
