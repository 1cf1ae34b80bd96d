"""``evaluate``: score a saved run's best epoch on other labelled data, kept under the run.

The data goes through the same readers and cleaning as training data (core/data): a built-in
dataset, a data file (its ``split`` column chooses rows with ``split``) or a Hub dataset
(``split`` default: test, else validation, else train). Labels are mapped by name onto the run's
classes (core/labels.py); values that are not among them are a one-line error naming them.
With the run's own built-in dataset, texts it trained, validated or tested on are left out.
Identical texts are scored once. The result: ``evaluations/<name>/`` (core/results.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import LabelError, class_ids, run_label_names
from lorasent_tui.core.results import ScoredResult, default_name, evaluation_dir, write_result
from lorasent_tui.core.scoring import Progress, run_predictor, score_labelled, stoppable
from lorasent_tui.core.store import Run, now_iso


@dataclass
class EvaluationData:
    """The labelled texts to score (class ids of the run) and where they came from."""

    texts: list[str]
    labels: list[int]
    dataset: str
    split: str | None
    excluded: int  # texts the run trained, validated or tested on, left out
    warnings: list[str]


def read_rows(dataset: str, split: str | None, text_column: str, label_column: str) -> tuple[Any, str | None]:
    """The raw rows of ``dataset`` (one split of it) and the split read."""
    from lorasent_tui.core.data import dataset_kind
    from lorasent_tui.core.data.builtin import read_builtin

    kind = dataset_kind(dataset)
    if kind == "builtin":
        if split:
            raise DataError(f"{dataset}: a built-in dataset has no splits; leave out --split")
        return read_builtin(dataset.strip().lower()), None
    if kind == "file":
        return file_rows(dataset, split, text_column, label_column), split
    return hub_rows(dataset, split, text_column, label_column)


def file_rows(name: str, split: str | None, text_column: str, label_column: str) -> Any:
    from lorasent_tui.core.data.files import read_file
    from lorasent_tui.core.data.rows import split_role

    rows, _fmt = read_file(name, text_column, label_column)
    if not split:
        return rows
    if rows.split_values is None:
        raise DataError(f"{name}: no 'split' column to choose --split {split} from; leave out --split")
    wanted = split_role(split) or split.strip().lower()
    chosen = [i for i, v in enumerate(rows.split_values)
              if (split_role(v) or str(v).strip().lower()) == wanted]
    if not chosen:
        raise DataError(f"{name}: no rows of split {split!r} in column 'split'")
    return rows.subset(chosen)


def hub_rows(name: str, split: str | None, text_column: str, label_column: str) -> tuple[Any, str]:
    from lorasent_tui.core.data.hub import hub_error, split_rows
    from lorasent_tui.core.data.rows import EVAL_SPLITS, TEST_SPLITS, TRAIN_SPLITS

    try:
        import datasets

        loaded = datasets.load_dataset(name)
        names = list(loaded.keys())
    except Exception as exc:  # noqa: BLE001 - anything from datasets becomes one line
        raise hub_error(name, exc) from None
    lower = {str(s).lower(): s for s in names}
    chosen = lower.get(split.lower()) if split else next(
        (lower[s] for s in TEST_SPLITS + EVAL_SPLITS + TRAIN_SPLITS if s in lower), None)
    if chosen is None:
        raise DataError(f"dataset '{name}': no split {split or 'test'!r} (splits: {', '.join(names)})")
    return split_rows(f"dataset '{name}'", loaded[chosen], str(chosen), text_column, label_column), str(chosen)


def seen_texts(config: Any) -> set[str]:
    """The texts a run trained, validated and tested on (its splits, drawn again)."""
    from lorasent_tui.core.data import load_splits

    splits = load_splits(config)
    return {t.strip() for t in splits.train_texts + splits.eval_texts + splits.test_texts}


def evaluation_data(run: Run, dataset: str, split: str | None = None, size: int = 0,
                    text_column: str = "text", label_column: str = "label") -> EvaluationData:
    """The labelled texts ``evaluate`` scores; raises ``DataError`` (one line)."""
    import numpy as np

    from lorasent_tui.core.data import dataset_kind
    from lorasent_tui.core.data.clean import clean, dedupe

    config = run.config()
    names = run_label_names(config.labels)
    rows, split = read_rows(dataset, split, text_column, label_column)
    texts, values, warnings = clean(dataset, rows)
    try:
        _names, ids = class_ids(values, names)
    except LabelError as exc:
        message = str(exc).replace("the given labels", f"the classes of run {run.run_id}:")
        raise DataError(f"{dataset}: {message}; map them to those names (or evaluate a run "
                        "trained on these classes)") from None
    labels = np.asarray([ids[v] for v in values], dtype=np.int64)
    texts, labels, _removed, _conflicts = dedupe(texts, labels)
    excluded = 0
    if dataset_kind(dataset) == "builtin" and dataset.strip().lower() == config.dataset.strip().lower():
        seen = seen_texts(config)
        keep = [i for i, t in enumerate(texts) if t.strip() not in seen]
        excluded = len(texts) - len(keep)
        texts, labels = [texts[i] for i in keep], labels[np.asarray(keep, dtype=np.int64)]
    if not texts:
        raise DataError(f"{dataset}: no texts left to evaluate ({excluded} the run has seen)")
    if size and size < len(texts):
        # A seeded uniform sample keeps the data's class proportions; in file order.
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(texts))[:size])
        texts, labels = [texts[i] for i in keep], labels[keep]
    return EvaluationData(texts, labels.tolist(), dataset, split, excluded, warnings)


def evaluate_run(run: Run, data: EvaluationData, name: str | None = None, device: str = "cpu",
                 on_progress: Progress | None = None, stop: threading.Event | None = None) -> ScoredResult:
    """Score ``data`` with the run's best epoch and keep it as ``evaluations/<name>/``; a ``stop``
    set meanwhile raises ScoringStopped, keeping nothing."""
    target = evaluation_dir(run.path, name or default_name(data.dataset, data.split))
    predictor = run_predictor(run, device)
    metrics, roc, predictions = score_labelled(predictor, data.texts, data.labels,
                                               stoppable(on_progress, stop))
    meta = {"kind": "evaluation", "name": target.name, "dataset": data.dataset,
            "split": data.split, "size": len(data.texts), "excluded": data.excluded,
            "date": now_iso(), "best_epoch": run.status().get("best_epoch")}
    write_result(target, metrics, roc, predictions, meta)
    refresh_model_card(run)
    return ScoredResult(target, metrics, meta)


def refresh_model_card(run: Run) -> None:
    """The run's README.md lists its evaluations; the card is a convenience, never an error."""
    from lorasent_tui.core.errors import LorasentError
    from lorasent_tui.core.export import write_model_card

    try:
        write_model_card(run)
    except (OSError, LorasentError):
        pass
