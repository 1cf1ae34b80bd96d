"""The app's run queue: settings waiting to train, one TOML file each under ``<runs>/queue``.

Each entry is ``NNN-<stamp>.toml`` in the format of saved settings (``--config``), written
atomically; it leaves the folder when its run completes, so the queue survives closing the app.
``run_queue`` runs the entries in order as trials of a queue study (``queue_chooser``), as
``sweep --configs`` does; a failed or stopped entry stays queued for the next time.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lorasent_tui.core.config import TrainConfig, build_config
from lorasent_tui.core.configfile import config_to_toml, read_config_file
from lorasent_tui.core.errors import ConfigError, LorasentError
from lorasent_tui.core.fsutil import atomic_write_text
from lorasent_tui.core.store import QUEUE_DIR
from lorasent_tui.core.sweep.events import SweepCallbacks, SweepFinished, TrialFinished
from lorasent_tui.core.sweep.study import Sweep, completed_configs, queue_chooser, run_trials

QUEUE_STUDY = "queue"
ENTRY_RE = re.compile(r"^(\d{3,})-[0-9T_-]+\.toml\Z")
_numbering = threading.Lock()  # two quick adds must not take the same number


@dataclass(frozen=True)
class QueueEntry:
    path: Path
    number: int  # its place in the queue: "#N"

    @property
    def label(self) -> str:
        """What names the entry's trial in the queue study (the file's name)."""
        return self.path.name

    def config(self) -> TrainConfig:
        try:
            return build_config(read_config_file(self.path))
        except ConfigError as exc:
            raise LorasentError(f"queued settings {self.path}: {exc}; fix the file or delete it") from None


def queue_dir(runs_dir: Path) -> Path:
    return Path(runs_dir) / QUEUE_DIR


def queued(runs_dir: Path) -> list[QueueEntry]:
    """The entries waiting, in queue order."""
    folder = queue_dir(runs_dir)
    if not folder.is_dir():
        return []
    entries = [QueueEntry(path, int(match.group(1))) for path in folder.iterdir()
               if (match := ENTRY_RE.match(path.name))]
    return sorted(entries, key=lambda entry: (entry.number, entry.label))


def add_to_queue(runs_dir: Path, config: TrainConfig) -> tuple[QueueEntry, int]:
    """Append ``config`` to the queue; the new entry and how many entries wait now."""
    folder = queue_dir(runs_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LorasentError(f"cannot create {folder}: {exc.strerror or exc}") from None
    with _numbering:
        waiting = queued(runs_dir)
        number = max((entry.number for entry in waiting), default=0) + 1
        entry = QueueEntry(folder / f"{number:03d}-{datetime.now():%Y%m%dT%H%M%S_%f}.toml", number)
        atomic_write_text(entry.path, config_to_toml(config))
    return entry, len(waiting) + 1


def leave_queue(runs_dir: Path, label: Any) -> None:
    """Remove the entry named ``label`` (its run completed); an unknown label is ignored."""
    if isinstance(label, str) and ENTRY_RE.match(label):
        (queue_dir(runs_dir) / label).unlink(missing_ok=True)


def _ignore(_event: Any) -> None:
    return None


def run_queue(sweep: Sweep, callbacks: SweepCallbacks | None = None) -> SweepFinished:
    """Run every queued entry in order as a trial of ``sweep``, entries queued meanwhile too;
    the sweep's start and end are reported once."""
    callbacks = callbacks or SweepCallbacks()
    runs_dir = sweep.runs_dir
    for label in completed_configs(sweep):  # completed, but the app closed before it left
        leave_queue(runs_dir, label)

    def trial_finished(event: TrialFinished) -> None:
        if event.row.state == "complete":
            leave_queue(runs_dir, event.row.params.get("config"))
        callbacks.on_trial_finished(event)

    tried: set[str] = set()
    result: SweepFinished | None = None
    while True:
        items = [(entry.label, entry.config()) for entry in queued(runs_dir) if entry.label not in tried]
        if result is not None and (not items or result.stopped):
            break
        tried.update(label for label, _ in items)
        choose, pending = queue_chooser(sweep, items)
        rounds = dataclasses.replace(callbacks, on_trial_finished=trial_finished, on_sweep_finished=_ignore,
                                     on_sweep_started=callbacks.on_sweep_started if result is None else _ignore)
        result = run_trials(sweep, choose, pending, rounds)
    callbacks.on_sweep_finished(result)
    return result
