"""Parsers of data files (CSV, TSV, JSONL, JSON, Parquet) into ``LabeledRows``.

The text and label columns are found by name (or a unique case-insensitive match); a ``split``
column is kept when present. Parse errors are ``DataError``s naming the file; pandas and
pyarrow are imported lazily.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from lorasent_tui.core.data.rows import LabeledRows
from lorasent_tui.core.errors import DataError


def one_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, shortened for a one-line error."""
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
    name: str, columns: list[str], text_col: str, label_col: str | None,
) -> tuple[str, str | None, str | None]:
    """The text, label and split columns; ``label_col`` None reads texts alone (unlabeled data)."""
    text_key = pick_column(text_col, columns)
    if label_col is None:
        if text_key is None:
            shown = ", ".join(str(c) for c in columns[:20]) or "none"
            raise DataError(f"{name}: no column '{text_col}' (columns: {shown}); name the "
                            f"file's text column '{text_col}' (the --text-column setting)")
        return text_key, None, None
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


def column_or_none(values: list[Any] | None, count: int) -> list[Any]:
    """A label column's cells, or None for every row when texts are read alone."""
    return values if values is not None else [None] * count


def read_csv(path: Path, name: str, fmt: str, text_col: str, label_col: str | None) -> LabeledRows:
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
        raise DataError(f"{name}: cannot parse it as {fmt}: {one_line(exc)}") from None
    texts = frame[text_key].tolist()
    labels = column_or_none(frame[label_key].tolist() if label_key else None, len(texts))
    return LabeledRows(texts, labels, text_key, label_key or "",
                       frame[split_key].tolist() if split_key else None)


def rows_from_objects(name: str, rows: Iterable[tuple[str, Any]], text_col: str,
                      label_col: str | None) -> LabeledRows:
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
    return LabeledRows([obj.get(text_key) for obj in kept],
                       [obj.get(label_key) if label_key else None for obj in kept],
                       text_key, label_key or "",
                       [obj.get(split_key) for obj in kept] if split_key else None)


def iter_jsonl(fh, name: str):
    for lineno, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            yield f"line {lineno}", json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {lineno} is not valid JSON ({exc.msg} at column "
                            f"{exc.colno})") from None


def read_jsonl(path: Path, name: str, text_col: str, label_col: str | None) -> LabeledRows:
    with open(path, encoding="utf-8-sig") as fh:
        return rows_from_objects(name, iter_jsonl(fh, name), text_col, label_col)


def read_json(path: Path, name: str, text_col: str, label_col: str | None) -> LabeledRows:
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


def read_parquet(path: Path, name: str, text_col: str, label_col: str | None) -> LabeledRows:
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
        raise DataError(f"{name}: not a readable Parquet file ({one_line(exc)})") from None
    texts = table.column(text_key).to_pylist()
    labels = column_or_none(table.column(label_key).to_pylist() if label_key else None, len(texts))
    return LabeledRows(texts, labels, text_key, label_key or "",
                       table.column(split_key).to_pylist() if split_key else None)
