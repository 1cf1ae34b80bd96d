"""Per-example predictions kept with a run: validation (best epoch), test and each evaluation.

A ``predictions.jsonl`` file holds one JSON object per example, in the order scored::

    {"id": 0, "label": "positive", "predicted": "negative",
     "probs": {"negative": 0.912345, "positive": 0.087655}, "loss": 2.434, "text": "..."}

``id`` is the example's position in the set scored (its row among the split's texts), ``label``
the true class, ``predicted`` the most probable class, ``loss`` the example's negative
log-likelihood of its true class (the loss validation averages), and ``text`` the text itself:
the error browser needs it, and a user's file or a Hub dataset cannot be re-read reliably
later. Kept with the texts, 25,000 IMDb reviews make about 37 MB (without them 3.3 MB), written
or read in about 0.6 s.
The class names are the run's; the file is replaced whole (``core/fsutil.atomic_write``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.errors import RunError
from lorasent_tui.core.fsutil import atomic_write

PREDICTIONS_FILE = "predictions.jsonl"
PROB_DIGITS = 6


@dataclass
class PredictionSet:
    """The predictions of one scored set, a row per example."""

    ids: list[str | int]
    y_true: np.ndarray  # class ids (indices into label_names)
    probs: np.ndarray  # n × n_classes class probabilities
    loss: np.ndarray  # per-example negative log-likelihood of the true class
    label_names: list[str]
    texts: list[str] | None = None  # the examples' texts, when kept

    @property
    def y_pred(self) -> np.ndarray:
        """The most probable class of each example."""
        return np.asarray(self.probs).argmax(axis=1) if len(self.ids) else np.zeros(0, dtype=int)

    def __len__(self) -> int:
        return len(self.ids)


def prediction_set(ids: Sequence[str | int], labels: Sequence[int], probs: Any,
                   label_names: Sequence[str], texts: Sequence[str] | None = None) -> PredictionSet:
    """A set from scored probabilities: the per-example loss is computed here, once."""
    probs = np.asarray(probs, dtype=float).reshape(len(labels), len(label_names))
    y_true = np.asarray(labels, dtype=int)
    chosen = probs[np.arange(len(y_true)), y_true] if len(y_true) else np.zeros(0)
    loss = -np.log(np.clip(chosen, np.finfo(float).tiny, None))
    return PredictionSet(list(ids), y_true, probs, loss, list(label_names),
                         list(texts) if texts is not None else None)


def _record(ps: PredictionSet, i: int, predicted: int) -> dict[str, Any]:
    names = ps.label_names
    loss = float(ps.loss[i])
    record = {"id": ps.ids[i] if not isinstance(ps.ids[i], np.integer) else int(ps.ids[i]),
              "label": names[int(ps.y_true[i])], "predicted": names[predicted],
              "probs": {n: round(float(p), PROB_DIGITS) for n, p in zip(names, ps.probs[i])},
              "loss": round(loss, PROB_DIGITS) if math.isfinite(loss) else None}
    if ps.texts is not None:
        record["text"] = ps.texts[i]
    return record


def write_predictions(path: Path | str, prediction_set: PredictionSet) -> None:
    """Write the set as JSON lines, replacing ``path`` whole (its folder must exist)."""
    predicted = prediction_set.y_pred

    def write(handle: Any) -> None:
        for i in range(len(prediction_set)):
            line = json.dumps(_record(prediction_set, i, int(predicted[i])), ensure_ascii=False,
                              allow_nan=False)
            handle.write(line.encode("utf-8") + b"\n")

    atomic_write(Path(path), write)


def read_predictions(path: Path | str) -> PredictionSet:
    """A set written by ``write_predictions``; RunError names the file and the damaged line.

    The class names are those of the first line's ``probs``, in their order; an empty file is
    an empty set without class names.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: texts may hold U+2028
    except FileNotFoundError:
        raise RunError(f"{path}: no such predictions file") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot be read ({exc})") from None
    names: list[str] = []
    ids, y_true, probs, loss, texts = [], [], [], [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not names:
                names = list(record["probs"])
            index = {n: k for k, n in enumerate(names)}
            ids.append(record["id"])
            y_true.append(index[record["label"]])
            probs.append([float(record["probs"][n]) for n in names])
            loss.append(float("nan") if record["loss"] is None else float(record["loss"]))
            texts.append(record.get("text"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RunError(f"{path}: line {number} is damaged") from None
    kept = texts if texts and all(isinstance(t, str) for t in texts) else None
    return PredictionSet(ids, np.asarray(y_true, dtype=int),
                         np.asarray(probs, dtype=float).reshape(len(ids), len(names)),
                         np.asarray(loss, dtype=float), names, kept)
