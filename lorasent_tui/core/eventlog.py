"""``events.jsonl``: what a run reports, appended by its writer so other processes can follow it.

The TUI follows runs it did not start in-process (a torchrun job, a headless run) by reading
this file. Lines are appended whole and flushed; a reader ignores a torn last line.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Iterator

from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      StepProgress, TrainCallbacks)

EVENT_TYPES = {cls.__name__: cls for cls in (StatusUpdate, StepProgress, EpochResult, RunFinished, RunFailed)}
PROGRESS_INTERVAL_S = 0.5


class EventLog:
    """Callbacks that append each event to ``<run>/events.jsonl`` (progress throttled)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._last_progress = 0.0
        self._last_phase: str | None = None

    def _append(self, event: Any) -> None:
        line = json.dumps({"type": type(event).__name__, **dataclasses.asdict(event)}, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def progress(self, event: StepProgress) -> None:
        """Throttled; kept whatever the interval: a phase change (an evaluation starts, the next
        epoch's training starts), the end of an evaluation and the run's last step."""
        now = time.monotonic()
        ends = event.step == event.total if event.phase == "train" else event.eval_done == event.eval_total
        if ends or event.phase != self._last_phase or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._last_phase = event.phase
            self._append(event)

    def callbacks(self) -> TrainCallbacks:
        return TrainCallbacks(on_status=self._append, on_progress=self.progress, on_epoch=self._append,
                              on_finished=self._append, on_failed=self._append)


def read_events(path: Path, offset: int = 0) -> tuple[list[Any], int]:
    """Events appended since byte ``offset``, and the offset to read from next time."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    events = []
    consumed = 0
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break  # a line still being written
        consumed += len(raw)
        try:
            record = json.loads(raw)
            cls = EVENT_TYPES[record.pop("type")]
            events.append(cls(**record))
        except (ValueError, KeyError, TypeError):
            continue
    return events, offset + consumed


def dispatch(event: Any, callbacks: TrainCallbacks) -> None:
    handler = {StatusUpdate: callbacks.on_status, StepProgress: callbacks.on_progress,
               EpochResult: callbacks.on_epoch, RunFinished: callbacks.on_finished,
               RunFailed: callbacks.on_failed}[type(event)]
    handler(event)


def follow(path: Path, poll_s: float = 0.2, stop: Any = None) -> Iterator[Any]:
    """Yield events as they are appended until the run finishes or fails, or ``stop()`` is true.

    ``stop`` is checked before each read, so whatever was written before it became true is
    still delivered.
    """
    offset = 0
    while True:
        done = stop is not None and stop()
        events, offset = read_events(path, offset)
        for event in events:
            yield event
            if isinstance(event, (RunFinished, RunFailed)):
                return
        if done:
            return
        time.sleep(poll_s)
