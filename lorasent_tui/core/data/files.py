"""Local data files: checked (size, type, UTF-8) before parsing, then turned into ``Splits``.

A CSV, TSV, JSONL/NDJSON, JSON (a list of objects) or Parquet file, chosen by extension. If the
file has a ``split`` column (train / validation or test), those splits are used; otherwise both
are sampled from all rows. Every problem is a ``DataError`` naming the file and the fix.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

from lorasent_tui.core.data.pipeline import splits_from_predefined, splits_from_rows
from lorasent_tui.core.data.readers import read_csv, read_json, read_jsonl, read_parquet
from lorasent_tui.core.data.rows import LabeledRows, Sampling, Splits, as_text, split_role
from lorasent_tui.core.errors import DataError

FORMATS = {
    ".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSONL", ".ndjson": "JSONL",
    ".json": "JSON", ".parquet": "Parquet", ".pq": "Parquet",
}
SUPPORTED = "CSV, TSV, JSONL, JSON or Parquet"
DEFAULT_MAX_FILE_MB = 512.0
MAX_FILE_ENV = "LORASENT_MAX_FILE_MB"
UTF8_CHUNK_BYTES = 1 << 20


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
                chunk = fh.read(UTF8_CHUNK_BYTES)
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


def read_file(name: str, text_col: str, label_col: str | None) -> tuple[LabeledRows, str]:
    """The rows of a data file and its format name (``label_col`` None: texts alone); raises
    ``DataError``."""
    path, fmt = check_file(name)
    if fmt != "Parquet":
        check_utf8(path, name)
    try:
        if fmt in ("CSV", "TSV"):
            rows = read_csv(path, name, fmt, text_col, label_col)
        elif fmt == "JSONL":
            rows = read_jsonl(path, name, text_col, label_col)
        elif fmt == "JSON":
            rows = read_json(path, name, text_col, label_col)
        else:
            rows = read_parquet(path, name, text_col, label_col)
    except DataError:
        raise
    except OSError as exc:
        raise DataError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    except MemoryError:
        raise DataError(f"{name}: not enough memory to load it; use a smaller sample") from None
    if not rows.texts:
        raise DataError(f"{name}: the file has no rows")
    return rows, fmt


def read_texts(name: str, text_col: str) -> list[str]:
    """Every text of a data file (its text column; a label column is ignored), in file order;
    missing cells are empty. Raises ``DataError``."""
    rows, _fmt = read_file(name, text_col, None)
    return [as_text(t) for t in rows.texts]


def load_file(name: str, text_col: str, label_col: str, sampling: Sampling) -> Splits:
    rows, fmt = read_file(name, text_col, label_col)
    label = f"{name} ({fmt})"
    if rows.split_values is not None:
        pools = split_by_column(name, rows)
        if pools is not None:
            train_rows, eval_rows, eval_role = pools
            return splits_from_predefined(name, train_rows, eval_rows, eval_role, label,
                                          sampling, "rows")
    return splits_from_rows(name, rows, label, sampling)


def split_by_column(name: str, rows: LabeledRows) -> tuple[LabeledRows, LabeledRows, str] | None:
    """(train, eval, eval role) rows from the ``split`` column; None if it has no eval rows."""
    values = rows.split_values or []
    roles = [split_role(v) for v in values]
    unknown = Counter(as_text(v).strip() or "(empty)" for v, r in zip(values, roles) if r is None)
    if unknown:
        shown = ", ".join(f"{v!r} ({n} row{'s' if n != 1 else ''})"
                          for v, n in unknown.most_common(3))
        raise DataError(f"{name}: unrecognised value {shown} in column 'split'; use train, "
                        "validation or test (or remove the column to sample the splits)")
    present = set(roles)
    if "train" not in present:
        raise DataError(f"{name}: the 'split' column has no train rows")
    eval_role = "validation" if "validation" in present else "test" if "test" in present else None
    if eval_role is None:
        return None
    train_rows, eval_rows = (rows.subset([i for i, r in enumerate(roles) if r == role])
                             for role in ("train", eval_role))
    return train_rows, eval_rows, eval_role
