"""From raw rows to ``Splits``: clean → dedupe → sample, the one sequence every source uses.

* ``splits_from_rows``: one pool (built-in data, a file, a Hub dataset with only a train split);
  identical texts are removed before sampling, so no text is in both splits.
* ``splits_from_predefined``: predefined train and eval pools (a file's ``split`` column, a
  Hub dataset's splits); eval texts also in the train pool are dropped from eval.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.data.clean import check_two_classes, clean, dedupe
from lorasent_tui.core.data.rows import LabeledRows, Splits
from lorasent_tui.core.data.sampling import is_balanced, sample_indices, sample_pools
from lorasent_tui.core.errors import DataError


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def usable_rows(name: str, rows: LabeledRows,
                warn_duplicates: bool = True) -> tuple[list[str], np.ndarray, list[str]]:
    """Clean rows of both classes with identical texts removed: texts, labels, warnings."""
    texts, labels, warnings = clean(name, rows)
    check_two_classes(name, labels)
    texts, labels, removed, conflicts = dedupe(texts, labels)
    if removed and warn_duplicates:
        note = (f"; {conflicts} of them had a different label (the first was kept)"
                if conflicts else "")
        warnings.append(f"{name}: removed {plural(removed, 'duplicate review')} before "
                        f"sampling, so none is in both train and eval{note}")
    return texts, labels, warnings


def splits_from_rows(name: str, rows: LabeledRows, label: str, train_size: int, eval_size: int,
                     seed: int, *, warn_duplicates: bool = True,
                     notes: Sequence[str] = ()) -> Splits:
    """Balanced, disjoint splits sampled from one pool; ``notes`` are added to the warnings."""
    texts, labels, warnings = usable_rows(name, rows, warn_duplicates)
    train_idx, eval_idx = sample_indices(labels, train_size, eval_size, seed, name)
    return pick((texts, labels, train_idx), (texts, labels, eval_idx), label,
                warnings + list(notes))


def splits_from_predefined(name: str, train_rows: LabeledRows, eval_rows: LabeledRows,
                           eval_name: str, label: str, train_size: int, eval_size: int, seed: int,
                           unit: str) -> Splits:
    """Subsample predefined train and eval pools, balanced where possible.

    Eval texts that also occur in the train pool are removed (with a warning), so the eval
    split is the same whatever ``train_size`` is.
    """
    t_texts, t_labels, warnings = clean(f"{name} (train)", train_rows)
    check_two_classes(f"{name} (train)", t_labels)
    e_texts, e_labels, eval_warnings = clean(f"{name} ({eval_name})", eval_rows)
    warnings += eval_warnings
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
    train_idx, eval_idx = sample_pools(t_labels, e_labels, train_size, eval_size, seed)
    for split, idx, want, labels in (("train", train_idx, train_size, t_labels),
                                     (eval_name, eval_idx, eval_size, e_labels)):
        size_field = "train_size" if split == "train" else "eval_size"
        if len(idx) < want:
            warnings.append(f"{name}: the {split} split has only {len(idx)} usable {unit}; "
                            f"using all of them ({size_field} {want})")
        chosen = labels[idx]
        if len(idx) and not is_balanced(chosen.tolist()):
            n_pos = int(chosen.sum())
            warnings.append(f"{name}: the {split} split is not balanced "
                            f"({len(idx) - n_pos} negative, {n_pos} positive)")
    return pick((t_texts, t_labels, train_idx), (e_texts, e_labels, eval_idx),
                f"{label}, train/{eval_name} splits", warnings)


def pick(train: tuple[list[str], np.ndarray, Any], eval_: tuple[list[str], np.ndarray, Any],
         label: str, warnings: list[str]) -> Splits:
    """Splits holding the chosen rows of each (texts, labels, indices) pool."""
    (train_texts, train_labels, train_idx), (eval_texts, eval_labels, eval_idx) = train, eval_
    picked_train = train_labels[train_idx].tolist()
    picked_eval = eval_labels[eval_idx].tolist()
    balanced = is_balanced(picked_train) and is_balanced(picked_eval)
    balance = "balanced" if balanced else "not balanced"
    return Splits(train_texts=[train_texts[i] for i in train_idx], train_labels=picked_train,
                  eval_texts=[eval_texts[i] for i in eval_idx], eval_labels=picked_eval,
                  source=f"{label}, {len(picked_train)}/{len(picked_eval)} {balance}",
                  warnings=warnings)
