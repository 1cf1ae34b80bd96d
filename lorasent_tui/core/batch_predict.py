"""Scoring a whole data file with a run: ``predict --input FILE [--output OUT]`` and the Predict
tab's "Score a file".

The texts come through the data readers (CSV, TSV, JSONL, JSON or Parquet; the text column, any
label column ignored) and are read exactly as ``predict`` reads one text: the run's cut view or
sliding windows, its decision threshold and calibration. They are scored a chunk at a time, so a
file of hundreds of thousands of texts is never tokenized whole, and the output is written once,
at the end, as a staged file that is fsynced and renamed into place: a stopped or interrupted
scoring leaves no half-written file, and an existing file is never replaced (OUT defaults to
``NAME.predictions.csv`` beside FILE, numbered when taken). One output row per input row, in
input order: ``row`` (the text's position in the input, from 0, pandas' default index, to join
other columns back), ``text``, ``label``, ``score`` (as ``predict`` prints it: P(positive) for
two classes, else the label's probability) and one probability column per class. A blank text
gets no verdict: empty cells (JSON nulls).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from lorasent_tui.core.data.files import read_texts
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.fsutil import atomic_write
from lorasent_tui.core.predict import prediction
from lorasent_tui.core.scoring import stoppable
from lorasent_tui.core.views import texts_scored

OUTPUT_FORMATS = {".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSONL", ".parquet": "Parquet"}
# Texts tokenized and scored at a time: bounds the memory of token ids and views whatever the
# file's size, and is many batches, so the batching by length still finds similar lengths.
CHUNK_TEXTS = 2048


@dataclass(frozen=True)
class FileScored:
    output: Path
    scored: int  # texts with a verdict
    blank: int  # rows left without one
    seconds: float  # scoring and writing, not loading


def default_output(source: str | Path) -> Path:
    """``NAME.predictions.csv`` beside the input; ``NAME.predictions-2.csv``… when that exists."""
    path = Path(source)
    stem = path.name[:-len(path.suffix)] if path.suffix else path.name
    candidate, number = path.with_name(f"{stem}.predictions.csv"), 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{stem}.predictions-{number}.csv")
    return candidate


def check_output(output: str | Path) -> Path:
    """The output path, if it can be written: a supported extension, an existing folder, and no
    file there yet (an existing file, the input included, is never replaced)."""
    path = Path(output)
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise DataError(f"{output}: unsupported output type; name it .csv, .tsv, .jsonl or .parquet")
    if path.exists():
        raise DataError(f"{output}: already exists; choose another --output or remove it")
    if not path.parent.is_dir():
        raise DataError(f"{output}: folder {path.parent} does not exist; create it first")
    return path


def class_probs_in_chunks(predictor: Any, texts: Sequence[str],
                          on_progress: Callable[[int, int], None] | None = None,
                          stop: threading.Event | None = None,
                          chunk: int = CHUNK_TEXTS) -> list[list[float] | None]:
    """Each text's class probabilities (None for a blank text); ``on_progress(texts_done,
    texts)`` as batches finish; raises core.scoring.ScoringStopped after the batch in which
    ``stop`` is set."""
    scored = [i for i, text in enumerate(texts) if text.strip()]
    probs: list[list[float] | None] = [None] * len(texts)
    total = len(scored)
    report = stoppable(on_progress, stop)
    report(0, total)
    for start in range(0, total, chunk):
        index = scored[start:start + chunk]

        def on_batch(views_done: int, views: int, start: int = start, size: int = len(index)) -> None:
            report(start + texts_scored(views_done, views, size), total)

        for i, p in zip(index, predictor.class_probs([texts[i] for i in index], on_batch=on_batch)):
            probs[i] = p
    return probs


def prediction_rows(texts: Sequence[str], probs: Sequence[list[float] | None], names: Sequence[str],
                    threshold: float) -> list[dict[str, Any]]:
    """The output rows: row, text, label, score and ``p_<class>`` per class."""
    rows = []
    for row, (text, p) in enumerate(zip(texts, probs)):
        verdict = prediction(text, p, names, threshold) if p is not None else None
        rows.append({"row": row, "text": text,
                     "label": verdict.label if verdict else None,
                     "score": round(verdict.score, 6) if verdict else None,
                     **{f"p_{name}": round(verdict.scores[name], 6) if verdict else None
                        for name in names}})
    return rows


def write_predictions(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` in the format of ``path``'s extension, whole or not at all, never over a file."""
    import pandas as pd

    fmt = OUTPUT_FORMATS[path.suffix.lower()]

    def write(handle: Any) -> None:
        if fmt == "JSONL":  # json, not pandas: pandas escapes every "/" as "\/"
            for row in rows:
                handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
        elif fmt == "Parquet":
            pd.DataFrame(rows).to_parquet(handle, index=False)
        else:
            text = pd.DataFrame(rows).to_csv(index=False, sep="\t" if fmt == "TSV" else ",")
            handle.write(text.encode("utf-8"))

    try:
        atomic_write(path, write, exclusive=True)
    except FileExistsError:
        raise DataError(f"{path}: created by something else while scoring; nothing was written "
                        "over it, choose another --output") from None


def score_file(predictor: Any, source: str, output: Path, text_column: str,
               on_progress: Callable[[int, int], None] | None = None,
               stop: threading.Event | None = None) -> FileScored:
    """Every text of ``source`` scored by ``predictor`` into ``output`` (see the module's doc)."""
    texts = read_texts(source, text_column)
    started = time.monotonic()
    probs = class_probs_in_chunks(predictor, texts, on_progress, stop)
    write_predictions(output, prediction_rows(texts, probs, predictor.label_names, predictor.threshold))
    blank = probs.count(None)
    return FileScored(output, len(texts) - blank, blank, time.monotonic() - started)
