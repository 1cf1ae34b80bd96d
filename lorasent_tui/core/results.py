"""Scored sets kept with a run: its test split (``test/``) and each evaluation (``evaluations/<name>/``).

Each is a folder written whole (``fsutil.staged_dir``: staged, fsynced, renamed into place)::

    metrics.json       core/metrics.classification_metrics's metrics, plus "loss" (mean NLL)
    roc.json           its ROC curve(s), as one epoch's entry of the run's roc.json
    predictions.jsonl  per-example predictions (core/predictions.py)
    meta.json          {"kind": "test"|"evaluation", "name", "dataset", "split", "size",
                        "excluded", "date", "best_epoch"}
    COMPLETE           written last: a folder without it is never read

Pure Python at import (the run list reads these before numpy is needed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.fsutil import (atomic_write_json, atomic_write_text, read_json, resolve_dir,
                                      staged_dir)

TEST_DIR = "test"
EVALUATIONS_DIR = "evaluations"
COMPLETE = "COMPLETE"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


@dataclass(frozen=True)
class ScoredResult:
    """A complete test or evaluation folder: its metrics and what was scored."""

    path: Path
    metrics: dict[str, Any]
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.path.name)

    @property
    def size(self) -> int:
        return int(self.meta.get("size") or 0)

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("accuracy")

    @property
    def predictions_path(self) -> Path:
        return self.path / "predictions.jsonl"


def check_name(name: str) -> str:
    """An evaluation's folder name; ValueError says what is allowed."""
    if not NAME_RE.match(name or "") or ".." in name:
        raise ValueError(f"invalid evaluation name {name!r}: use up to 64 letters, digits, "
                         "'.', '_' and '-'")
    return name


def default_name(dataset: str, split: str | None) -> str:
    """A folder name from a dataset (a file's stem, a Hub id's last part) and its split."""
    stem = Path(str(dataset).rstrip("/")).name.split(".")[0] or "data"
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "data"
    return (f"{base}-{split}" if split else base)[:64]


def write_result(target: Path, metrics: dict[str, Any], roc: dict[str, Any], predictions: Any,
                 meta: dict[str, Any]) -> None:
    """Write a scored set's folder whole, replacing an earlier one of the same name."""
    from lorasent_tui.core.predictions import write_predictions

    target.parent.mkdir(exist_ok=True)
    with staged_dir(target) as staging:
        atomic_write_json(staging / "metrics.json", metrics)
        atomic_write_json(staging / "roc.json", roc)
        write_predictions(staging / "predictions.jsonl", predictions)
        atomic_write_json(staging / "meta.json", meta)
        atomic_write_text(staging / COMPLETE, "")


def read_result(folder: Path) -> ScoredResult | None:
    """The complete copy of a scored set's folder, or None (absent, unfinished or damaged)."""
    path = resolve_dir(folder)
    if path is None or not (path / COMPLETE).is_file():
        return None
    try:
        metrics, meta = read_json(path / "metrics.json"), read_json(path / "meta.json")
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict) or not isinstance(meta, dict):
        return None
    return ScoredResult(Path(folder), metrics, meta)


def held_out_result(run_path: Path) -> ScoredResult | None:
    """A run's test split result (runs without ``--test-size`` have none)."""
    return read_result(Path(run_path) / TEST_DIR)


def evaluations(run_path: Path) -> list[ScoredResult]:
    """A run's complete evaluations, oldest first."""
    root = Path(run_path) / EVALUATIONS_DIR
    if not root.is_dir():
        return []
    names = {p.name.removesuffix(".old") for p in root.iterdir()
             if p.is_dir() and not p.name.startswith(".")}
    found = [r for r in (read_result(root / n) for n in sorted(names)) if r is not None]
    return sorted(found, key=lambda r: (str(r.meta.get("date", "")), r.name))


def evaluation_dir(run_path: Path, name: str) -> Path:
    return Path(run_path) / EVALUATIONS_DIR / check_name(name)


def summary_line(result: ScoredResult, label: str) -> str:
    """One line, e.g. "Test (n=1,000): accuracy 0.8800 · F1 0.8791 · AUC 0.9412"."""
    metrics = result.metrics
    f1 = metrics.get("f1", metrics.get("f1_macro"))
    f1_name = "F1" if "f1" in metrics else "macro F1"
    return (f"{label} (n={result.size:,}): accuracy {format_metric(metrics.get('accuracy'))} · "
            f"{f1_name} {format_metric(f1)} · AUC {format_metric(metrics.get('roc_auc'))}")
