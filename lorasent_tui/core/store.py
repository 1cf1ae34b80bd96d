"""The run store: one folder per run under the runs folder, every file replaced atomically.

Layout of ``runs/<run-id>/``::

    config.json      resolved TrainConfig ("labels": the class names; null: negative/positive)
    status.json      state, pid, times, best epoch, error; a sweep's trial adds
                     "sweep": {"study", "trial"} and, when pruned, "pruned": true (state stopped)
    metrics.jsonl    one JSON object per evaluated epoch (records.metric_columns and DETAIL_KEYS;
                     null: undefined; with unlabeled text also pseudo_labels and pseudo_counts,
                     see core/pseudo_labels.py)
    roc.json         {"<epoch>": {"fpr": [...], "tpr": [...], "auc": x}}; more than two classes:
                     {"<epoch>": {"classes": {name: {"fpr", "tpr", "auc"}}, "auc": macro}}
    adapter/         best epoch: PEFT adapter_config.json + adapter_model.safetensors
    threshold.json   a binary run's chosen decision threshold, if any (core/threshold.py)
    calibration.json its temperature scaling, if fitted (core/calibration.py)
    checkpoint/      last finished epoch, resumable (see core.checkpoint)
    predictions.jsonl  the best epoch's validation predictions (core/predictions.py)
    test/            with --test-size: the best epoch scored once on the test split when the
                     run completed (core/results.py); never in metrics.jsonl
    evaluations/<name>/  each ``evaluate`` of the run on other data (core/results.py)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lorasent_tui.core.config import TrainConfig, config_from_dict
from lorasent_tui.core.errors import ConfigError, RunError
from lorasent_tui.core.fsutil import (atomic_write_json, atomic_write_text, fsync_dir, read_json,
                                      resolve_dir)
from lorasent_tui.core.labels import LABEL_NAMES, run_label_names
from lorasent_tui.core.records import best_row
from lorasent_tui.core.results import held_out_result

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")  # \Z: "$" would allow a trailing newline
STATES = ("running", "completed", "stopped", "failed")
DEFAULT_RUNS_DIR = Path("runs")
# The app's F12 pictures and the sweep studies (core/sweep) live beside the runs, never runs.
SCREENSHOTS_DIR = "screenshots"
SWEEPS_DIR = "sweeps"
QUEUE_DIR = "queue"  # the app's run queue (core/sweep/queue_files.py)
NOT_RUNS = {SCREENSHOTS_DIR: "the app keeps its screenshots there",
            SWEEPS_DIR: "the sweeps keep their studies there",
            QUEUE_DIR: "the app keeps its queued settings there"}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id or "") or ".." in run_id:
        raise RunError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' only")
    if run_id in NOT_RUNS:
        raise RunError(f"invalid run id {run_id!r}: {NOT_RUNS[run_id]}")
    return run_id


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _short_model_name(model: str) -> str:
    tail = model.rstrip("/").split("/")[-1]
    return re.sub(r"[^A-Za-z0-9]+", "-", tail).strip("-")[:24] or "model"


@dataclass
class RunSummary:
    run_id: str
    path: Path
    state: str  # running, completed, stopped, failed, interrupted, damaged
    model: str = "?"
    dataset: str = "?"
    epochs_done: int = 0
    epochs: int = 0
    best_epoch: int | None = None
    best_accuracy: float | None = None
    best_f1: float | None = None  # the positive class's F1; macro F1 for more than two classes
    label_names: list[str] = field(default_factory=lambda: list(LABEL_NAMES))  # the run's classes
    started_at: str = ""
    problem: str | None = None  # damage: what cannot be read or used
    ended: str | None = None  # why an intact run did not complete ("stopped by user during epoch 2")
    sweep: dict[str, Any] | None = None  # {"study": name, "trial": number} for a sweep's trial
    pruned: bool = False  # a sweep stopped this trial early for its poor validation results
    test_accuracy: float | None = None  # the best epoch on the test split (--test-size), if scored

    def to_dict(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["path"] = str(self.path)
        return data


class Run:
    """One run folder. Writers are the trainer (rank 0 only); readers are everything else."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.run_id = self.path.name

    # -- paths -------------------------------------------------------------------------
    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoint"

    @property
    def stop_file(self) -> Path:
        """Created by another process (the TUI following a torchrun job) to stop the run."""
        return self.path / "STOP"

    def complete_adapter_dir(self) -> Path | None:
        return resolve_dir(self.adapter_dir)

    # -- config ------------------------------------------------------------------------
    def write_config(self, config: TrainConfig) -> None:
        atomic_write_text(self.path / "config.json", config.to_json() + "\n")

    def _read(self, name: str) -> Any:
        try:
            return read_json(self.path / name)
        except FileNotFoundError:
            raise RunError(f"run {self.run_id}: {name} is missing") from None
        except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8
            raise RunError(f"run {self.run_id}: {name} is damaged ({exc})") from None

    def config(self) -> TrainConfig:
        data = self._read("config.json")
        if not isinstance(data, dict) or "model" not in data:
            raise RunError(f"run {self.run_id}: config.json is damaged (not a saved run config)")
        try:
            return config_from_dict(data)
        except (ConfigError, TypeError, ValueError) as exc:
            raise RunError(f"run {self.run_id}: config.json is damaged ({exc})") from None

    # -- status ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        data = self._read("status.json")
        if not isinstance(data, dict) or data.get("state") not in STATES:
            raise RunError(f"run {self.run_id}: status.json has no valid state")
        return data

    def update_status(self, **changes: Any) -> dict[str, Any]:
        try:
            data = self.status()
        except RunError:
            data = {}
        data.update(changes, updated_at=now_iso())
        atomic_write_json(self.path / "status.json", data)
        return data

    def effective_state(self) -> str:
        """The stored state, or ``interrupted`` for a run whose writer process is gone."""
        status = self.status()
        state = status["state"]
        if state == "running":
            same_host = status.get("host") == socket.gethostname()
            pid = status.get("pid")
            if same_host and isinstance(pid, int) and not pid_alive(pid):
                return "interrupted"
        return state

    # -- metrics -----------------------------------------------------------------------
    def metrics(self) -> list[dict[str, float]]:
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise RunError(f"run {self.run_id}: metrics.jsonl cannot be read ({exc})") from None
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
                raise RunError(f"run {self.run_id}: metrics.jsonl line {number} is damaged")
            rows.append(row)
        return rows

    def write_metrics(self, rows: list[dict[str, float]]) -> None:
        # Rewritten whole (it is tiny) so that a crash never leaves a torn last line.
        text = "".join(json.dumps(row, allow_nan=False) + "\n" for row in rows)
        atomic_write_text(self.path / "metrics.jsonl", text)

    def roc(self) -> dict[str, dict[str, Any]]:
        path = self.path / "roc.json"
        if not path.exists():
            return {}
        try:
            data = read_json(path)
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise RunError(f"run {self.run_id}: roc.json is damaged")
        return data

    def write_roc(self, roc: dict[str, dict[str, Any]]) -> None:
        atomic_write_json(self.path / "roc.json", roc)

    def best_row(self, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The best epoch's row of ``rows``: the one status.json records, else by the rule."""
        try:
            recorded = self.status().get("best_epoch")
        except RunError:
            recorded = None
        return best_row(rows, recorded)

    def truncate_to_epoch(self, epoch: int) -> None:
        """Drop what epochs after ``epoch`` wrote (used when resuming from a checkpoint)."""
        self.write_metrics([row for row in self.metrics() if int(row["epoch"]) <= epoch])
        self.write_roc({k: v for k, v in self.roc().items() if int(k) <= epoch})

    def summary(self) -> RunSummary:
        summary = RunSummary(run_id=self.run_id, path=self.path, state="damaged")
        try:
            status = self.status()
            config = self.config()
            rows = self.metrics()
            summary.state = self.effective_state()
        except (RunError, OSError) as exc:
            summary.problem = str(exc)
            return summary
        adapter = self.complete_adapter_dir()
        if rows and (adapter is None or not (adapter / "adapter_model.safetensors").is_file()):
            # The adapter is written before an epoch's metrics, so this is damage, not progress.
            summary.problem = f"run {self.run_id}: the saved adapter is missing"
        summary.model, summary.dataset, summary.epochs = config.model, config.dataset, config.epochs
        summary.label_names = list(run_label_names(config.labels))
        summary.started_at = str(status.get("started_at", ""))
        summary.sweep = status["sweep"] if isinstance(status.get("sweep"), dict) else None
        summary.pruned = status.get("pruned") is True
        summary.epochs_done = len(rows)
        best = best_row(rows, status.get("best_epoch"))
        if best is not None:
            summary.best_epoch = int(best["epoch"])
            summary.best_accuracy = best.get("accuracy")
            summary.best_f1 = best.get("f1", best.get("f1_macro"))
        summary.ended = _why_it_ended(summary, status)
        test = held_out_result(self.path)
        summary.test_accuracy = test.accuracy if test is not None else None
        return summary


def _why_it_ended(summary: RunSummary, status: dict[str, Any]) -> str | None:
    """Why a run that did not complete ended, in a few words (the runs lists show it)."""
    done, state = summary.epochs_done, summary.state
    # The epoch under way when it ended; none when every planned epoch had finished.
    during = f"during epoch {done + 1}" if done < summary.epochs else f"after its last epoch ({done})"
    if state == "stopped":
        return f"pruned by its sweep {during}" if summary.pruned else f"stopped by user {during}"
    if state == "interrupted":
        return f"process ended {during}"
    if state == "failed":
        error = str(status.get("error") or "").strip().splitlines()
        return f"failed {during}" + (f": {error[0]}" if error else "")
    return None


class RunStore:
    def __init__(self, root: Path | str = DEFAULT_RUNS_DIR):
        self.root = Path(root)

    def _ensure_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(f"cannot create runs folder {self.root}: {exc.strerror or exc}") from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RunError(f"runs folder {self.root} is not writable")

    def new_run_id(self, config: TrainConfig) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{_short_model_name(config.model)}-{secrets.token_hex(2)}"

    def create(self, config: TrainConfig, run_id: str | None = None, **status: Any) -> Run:
        self._ensure_root()
        run_id = check_run_id(self.new_run_id(config) if run_id is None else run_id)
        path = self.root / run_id
        if path.exists():
            raise RunError(f"run {run_id} already exists in {self.root}")
        # Written in a hidden folder and renamed into place, so that a crash (or kill) never
        # leaves a run folder without its files (that would list as damaged, not resumable).
        staging = self.root / f".creating-{run_id}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            draft = Run(staging)
            draft.write_config(config)
            draft.write_metrics([])
            draft.write_roc({})
            atomic_write_json(staging / "status.json", {
                "state": "running", "run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
                "started_at": now_iso(), "updated_at": now_iso(), "finished_at": None,
                "best_epoch": None, "epochs_done": 0, "epochs": config.epochs, "error": None,
                **status,
            })
            try:
                os.rename(staging, path)
            except OSError:
                if path.exists():
                    raise RunError(f"run {run_id} already exists in {self.root}") from None
                raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fsync_dir(self.root)
        return Run(path)

    def run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir()
                      if p.is_dir() and RUN_ID_RE.match(p.name) and not p.name.startswith(".")
                      and p.name not in NOT_RUNS)

    def list(self) -> list[RunSummary]:
        summaries = [Run(p).summary() for p in self.run_dirs()]
        return sorted(summaries, key=lambda s: (s.started_at, s.run_id), reverse=True)

    def get(self, ref: str) -> Run:
        """A run by id, by path to its folder, or ``latest``: the newest run (by start time)
        with a finished epoch and its adapter, so a failed or just-started run never hides one
        that can predict."""
        if ref == "latest":
            usable = [s for s in self.list() if s.epochs_done > 0 and s.problem is None
                      and s.state != "damaged"]
            if not usable:
                raise RunError(f"no run in {self.root} has a finished epoch yet")
            return Run(usable[0].path)
        candidate = Path(ref)
        if (os.sep in ref or ref.startswith(".")) and candidate.is_dir():
            if not (candidate / "config.json").exists():
                raise RunError(f"{ref} is not a run folder (no config.json)")
            return Run(candidate)
        path = self.root / check_run_id(ref)
        if not path.is_dir():
            raise RunError(f"no run {ref!r} in {self.root}")
        return Run(path)

    def delete(self, ref: str) -> None:
        run = self.get(ref)
        if run.path.resolve().parent != self.root.resolve():
            raise RunError(f"{ref} is not a run in {self.root}; only runs there can be deleted")
        # Rename first so a half-finished delete never looks like a damaged run.
        trash = run.path.with_name(f".deleting-{run.run_id}-{int(time.time())}")
        os.replace(run.path, trash)
        shutil.rmtree(trash, ignore_errors=True)
