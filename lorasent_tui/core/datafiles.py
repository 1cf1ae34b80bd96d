"""Local data files: CSV, TSV, JSONL, JSON and Parquet, read with clear errors.

Size and encoding are checked before parsing; labels may be 0/1, booleans or words; empty
texts are dropped with a warning and duplicates removed. Every problem is a ``DataError``
naming the file. pandas and pyarrow are imported lazily.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from lorasent_tui.core.errors import DataError

LABEL_NAMES = ("negative", "positive")  # label 1 = positive
FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSONL", ".ndjson": "JSONL",
    ".json": "JSON", ".parquet": "Parquet", ".pq": "Parquet",
}
SUPPORTED = "CSV, TSV, JSONL, JSON or Parquet"
DEFAULT_MAX_FILE_MB = 512.0
MAX_FILE_ENV = "LORASENT_MAX_FILE_MB"
_UTF8_CHUNK = 1 << 20

LABEL_WORDS = {
    "0": 0, "1": 1, "0.0": 0, "1.0": 1,
    "negative": 0, "positive": 1, "neg": 0, "pos": 1,
    "false": 0, "true": 1,
}


def extension(name: str) -> str:
    return Path(name).suffix.lower()


def max_file_bytes() -> tuple[float, int]:
    raw = os.environ.get(MAX_FILE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_MB, int(DEFAULT_MAX_FILE_MB * 2**20)
    try:
        mb = float(raw)
    except ValueError:
        mb = float("nan")
    if not math.isfinite(mb) or mb <= 0:
        raise DataError(f"{MAX_FILE_ENV} must be a positive number of megabytes, got {raw!r}")
    return mb, int(mb * 2**20)


def check_file(name: str) -> tuple[Path, str]:
    path = Path(os.path.expanduser(name))
    try:
        st = path.stat()
    except FileNotFoundError:
        parent = path.parent
        if str(parent) not in ("", ".") and not parent.exists():
            raise DataError(f"{name}: no such file (folder {parent} does not exist)") from None
        raise DataError(f"{name}: no such file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot access it ({exc.strerror or exc})") from None
    if path.is_dir():
        raise DataError(f"{name}: is a folder; pass a data file ({SUPPORTED})")
    ext = extension(name)
    if ext not in FORMATS:
        shown = f"'{ext}'" if ext else "no extension"
        raise DataError(f"{name}: unsupported file type ({shown}); use a .csv, .tsv, .jsonl, "
                        ".ndjson, .json or .parquet file")
    if st.st_size == 0:
        raise DataError(f"{name}: the file is empty")
    limit_mb, limit_bytes = max_file_bytes()
    if st.st_size > limit_bytes:
        raise DataError(
            f"{name}: {st.st_size / 2**20:,.0f} MB is over the {limit_mb:g} MB limit for data "
            f"files; use a smaller sample or set {MAX_FILE_ENV} to raise the limit")
    return path, FORMATS[ext]


def check_utf8(path: Path, name: str) -> None:
    """Stream the file through a strict decoder; the error names the absolute byte offset."""
    offset = 0  # absolute offset of data[0]
    tail = b""
    try:
        with open(path, "rb") as fh:
            while True:
                chunk = fh.read(_UTF8_CHUNK)
                data = tail + chunk
                if not data:
                    return
                try:
                    data.decode("utf-8")
                    tail = b""
                    offset += len(data)
                except UnicodeDecodeError as exc:
                    if chunk and exc.reason == "unexpected end of data":
                        tail = data[exc.start:]  # a character split by the chunk boundary
                        offset += exc.start
                    else:
                        raise DataError(f"{name}: not valid UTF-8 at byte {offset + exc.start}; "
                                        "re-save it as UTF-8") from None
                if not chunk:
                    return
    except OSError as exc:
        raise DataError(f"{name}: cannot read it ({exc.strerror or exc})") from None


def short(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    return line


def pick_column(wanted: str, columns: list[str]) -> str | None:
    """The exact column, else its unique case-insensitive match, else None."""
    if wanted in columns:
        return wanted
    folded = [c for c in columns if str(c).strip().lower() == wanted.strip().lower()]
    return folded[0] if len(folded) == 1 else None


def resolve_columns(
    name: str, columns: list[str], text_col: str, label_col: str,
) -> tuple[str, str, str | None]:
    text_key = pick_column(text_col, columns)
    label_key = pick_column(label_col, columns)
    if text_key is None or label_key is None:
        shown = ", ".join(str(c) for c in columns[:20]) or "none"
        if len(columns) > 20:
            shown += f", … ({len(columns)} in all)"
        if text_key is None and label_key is None:
            what = f"no column '{text_col}' or '{label_col}'"
            fix = "set --text-column and --label-column"
        elif text_key is None:
            what, fix = f"no column '{text_col}'", "set --text-column"
        else:
            what, fix = f"no column '{label_col}'", "set --label-column"
        raise DataError(f"{name}: {what} (columns: {shown}); {fix}")
    if text_key == label_key:
        raise DataError(f"{name}: the text and label columns are both '{text_key}'; "
                        "set --text-column and --label-column to different columns")
    split_key = None
    if "split" in columns and "split" not in (text_key, label_key):
        split_key = "split"
    return text_key, label_key, split_key


def read_csv(path: Path, name: str, fmt: str, text_col: str, label_col: str):
    import pandas as pd

    sep = "\t" if fmt == "TSV" else ","
    try:
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
        columns = [str(c) for c in header.columns]
        text_key, label_key, split_key = resolve_columns(name, columns, text_col, label_col)
        keys = [k for k in (text_key, label_key, split_key) if k]
        frame = pd.read_csv(path, sep=sep, usecols=keys, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig", engine="c")
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: the file has no header or rows") from None
    except Exception as exc:  # noqa: BLE001 - parser errors vary by pandas version
        raise DataError(f"{name}: cannot parse it as {fmt}: {short(exc)}") from None
    texts = frame[text_key].tolist()
    labels = frame[label_key].tolist()
    splits = frame[split_key].tolist() if split_key else None
    return texts, labels, splits, (text_key, label_key)


def rows_from_objects(name: str, rows: Iterable[tuple[int, Any]], text_col: str, label_col: str):
    """Collect columns from JSON objects; keys missing from a row read as empty."""
    seen: dict[str, None] = {}
    kept: list[dict[str, Any]] = []
    for where, obj in rows:
        if not isinstance(obj, dict):
            raise DataError(f"{name}: {where} is not a JSON object "
                            "(expected objects like {\"text\": ..., \"label\": ...})")
        for key in obj:
            if key not in seen:
                seen[key] = None
        kept.append({k: obj.get(k) for k in (text_col, label_col, "split") if k in obj}
                    if (text_col in obj and label_col in obj) else obj)
    columns = list(seen)
    text_key, label_key, split_key = resolve_columns(name, columns, text_col, label_col)
    texts = [obj.get(text_key) for obj in kept]
    labels = [obj.get(label_key) for obj in kept]
    splits = [obj.get(split_key) for obj in kept] if split_key else None
    return texts, labels, splits, (text_key, label_key)


def iter_jsonl(fh, name: str):
    for lineno, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            yield f"line {lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {lineno} is not valid JSON ({exc.msg} at column "
                            f"{exc.colno})") from None


def read_jsonl(path: Path, name: str, text_col: str, label_col: str):
    with open(path, encoding="utf-8-sig") as fh:
        return rows_from_objects(name, iter_jsonl(fh, name), text_col, label_col)


def read_json(path: Path, name: str, text_col: str, label_col: str):
    with open(path, encoding="utf-8-sig") as fh:
        raw = fh.read()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # one object per line saved as .json
            import io

            rows = iter_jsonl(io.StringIO(raw), name)
            return rows_from_objects(name, rows, text_col, label_col)
        raise DataError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column "
                        f"{exc.colno})") from None
    if not isinstance(data, list):
        raise DataError(f"{name}: expected a JSON list of objects like "
                        "[{\"text\": ..., \"label\": ...}], got a JSON "
                        f"{type(data).__name__.replace('dict', 'object')}")
    return rows_from_objects(name, ((f"item {i}", obj) for i, obj in enumerate(data, 1)),
                              text_col, label_col)


def read_parquet(path: Path, name: str, text_col: str, label_col: str):
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        columns = [str(c) for c in schema.names]
        text_key, label_key, split_key = resolve_columns(name, columns, text_col, label_col)
        keys = [k for k in (text_key, label_key, split_key) if k]
        table = pq.read_table(path, columns=keys)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - ArrowInvalid, OSError, ...
        raise DataError(f"{name}: not a readable Parquet file ({short(exc)})") from None
    texts = table.column(text_key).to_pylist()
    labels = table.column(label_key).to_pylist()
    splits = table.column(split_key).to_pylist() if split_key else None
    return texts, labels, splits, (text_key, label_key)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)


def label_value(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value) if value in (0, 1) else None
    if isinstance(value, (float, np.floating)):
        return int(value) if value in (0.0, 1.0) else None
    if isinstance(value, str):
        return LABEL_WORDS.get(value.strip().lower())
    return None


def clean(
    name: str, texts: list[Any], labels: list[Any], label_col: str,
    positions: list[int] | None = None,
) -> tuple[list[str], np.ndarray, list[int], list[str]]:
    """Drop empty texts, parse labels; returns texts, labels, kept row positions, warnings."""
    warnings: list[str] = []
    out_texts: list[str] = []
    out_labels: list[int] = []
    kept: list[int] = []
    empty = 0
    bad: Counter = Counter()
    first_bad: dict[Any, int] = {}
    cache: dict[Any, int | None] = {}
    for i, (raw_text, raw_label) in enumerate(zip(texts, labels)):
        row = positions[i] if positions is not None else i
        text = as_text(raw_text)
        if not text.strip():
            empty += 1
            continue
        try:
            value = cache[raw_label] if raw_label in cache else cache.setdefault(
                raw_label, label_value(raw_label))
        except TypeError:  # unhashable (a JSON list or object)
            value = None
        if value is None:
            key = bad_label_repr(raw_label)
            bad[key] += 1
            first_bad.setdefault(key, row + 1)
            continue
        out_texts.append(text)
        out_labels.append(value)
        kept.append(row)
    if bad:
        parts = [f"{k} ({n} row{'s' if n != 1 else ''}, first at row {first_bad[k]})"
                 for k, n in bad.most_common(3)]
        more = f" and {len(bad) - 3} more values" if len(bad) > 3 else ""
        noun = "label" if len(bad) == 1 else "labels"
        raise DataError(
            f"{name}: unrecognised {noun} {', '.join(parts)}{more} in column '{label_col}'; "
            "labels must be 0/1, true/false or negative/positive (pos/neg)")
    if empty:
        warnings.append(f"{name}: dropped {empty} row{'s' if empty != 1 else ''} with an "
                        "empty text")
    if not out_texts:
        raise DataError(f"{name}: no rows with a non-empty text")
    return out_texts, np.asarray(out_labels, dtype=np.int64), kept, warnings


def bad_label_repr(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "(empty)"
    if isinstance(value, str) and not value.strip():
        return "(empty)"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def check_two_classes(name: str, labels: np.ndarray) -> None:
    present = sorted(set(np.unique(labels).tolist()))
    if len(present) < 2:
        only = LABEL_NAMES[present[0]]
        raise DataError(f"{name}: all {len(labels)} reviews are labelled {only}; both negative "
                        "and positive reviews are needed")


def dedupe(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray, int, int]:
    """Keep the first of identical texts; returns texts, labels, removed, label conflicts."""
    first: dict[str, int] = {}
    keep: list[int] = []
    conflicts = 0
    for i, text in enumerate(texts):
        key = text.strip()
        j = first.get(key)
        if j is None:
            first[key] = i
            keep.append(i)
        elif labels[j] != labels[i]:
            conflicts += 1
    removed = len(texts) - len(keep)
    if not removed:
        return texts, labels, 0, 0
    return [texts[i] for i in keep], labels[np.asarray(keep, dtype=np.int64)], removed, conflicts
