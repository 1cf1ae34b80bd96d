"""How the headless commands write to the console: one metrics row per epoch on stdout,
progress and status lines on stderr (one line redrawn on a terminal, throttled elsewhere)."""

from __future__ import annotations

import sys
import time
from typing import Callable

from lorasent_tui.core.display import format_duration, format_metric
from lorasent_tui.core.events import (EpochResult, ScoringClock, StatusUpdate, StepProgress, TrainCallbacks,
                                      scoring_title)
from lorasent_tui.core.pseudo_labels import describe as describe_pseudo_labels
from lorasent_tui.core.records import metric_columns, row_classes


def table_columns(n_classes: int) -> tuple[tuple[str, str, int], ...]:
    """(key, header, width): a metric is written as 0.1234, so a column is at least 6 wide."""
    return (("epoch", "Epoch", 5),) + tuple((c.key, c.header, max(6, len(c.header)))
                                            for c in metric_columns(n_classes))


def format_row(row: dict) -> str:
    cells = []
    for key, _header, width in table_columns(row_classes(row)):
        text = str(row.get(key)) if key == "epoch" else format_metric(row.get(key))
        cells.append(text.rjust(width))
    return "  ".join(cells)


def table_header(n_classes: int = 2) -> str:
    return "  ".join(header.rjust(width) for _key, header, width in table_columns(n_classes))


class ConsoleReporter:
    """Progress on stderr (throttled), one metrics row per epoch on stdout."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last_print = 0.0
        self.last_phase: str | None = None
        self.header_done = False

    def callbacks(self) -> TrainCallbacks:
        return TrainCallbacks(on_status=self.status, on_progress=self.progress, on_epoch=self.epoch)

    def _err(self, text: str) -> None:
        end = "" if self.tty and text.startswith("\r") else "\n"
        print(text if self.tty else text.lstrip("\r"), end=end, file=sys.stderr, flush=True)

    def status(self, event: StatusUpdate) -> None:
        if not self.quiet:
            self._err(("\n" if self.tty else "") + f"[{event.message}]")

    def progress(self, event: StepProgress) -> None:
        now = time.monotonic()
        interval = 0.5 if self.tty else 10.0
        evaluating = event.phase != "train"
        last = event.eval_done == event.eval_total if evaluating else event.step == event.total
        if self.quiet or (now - self.last_print < interval and not last and event.phase == self.last_phase):
            return
        self.last_print, self.last_phase = now, event.phase
        if evaluating:
            where = f"{scoring_title(event)}: {event.eval_done:,}/{event.eval_total:,} reviews"
        else:
            loss = "" if event.loss is None else f" loss {event.loss:.4f}"
            where = f"step {event.step}/{event.total} epoch {event.epoch}/{event.epochs}{loss}"
        done = "" if event.fraction is None else f" {event.fraction:.0%}"
        self._err(f"\r{where}{done} elapsed {format_duration(event.elapsed)} "
                  f"eta {format_duration(event.eta)} [{event.device}]")

    def epoch(self, event: EpochResult) -> None:
        if self.tty and not self.quiet:
            print(file=sys.stderr)
        if not self.header_done:
            print(table_header(row_classes(event.metrics)), flush=True)
            self.header_done = True
        print(format_row(event.metrics) + ("  *best" if event.is_best else ""), flush=True)
        pseudo = describe_pseudo_labels(event.metrics)
        if pseudo and not self.quiet:
            self._err(f"[{pseudo}]")  # stderr: the table on stdout stays one row per epoch


def scoring_progress(reporter: ConsoleReporter, device: str, phase: str) -> Callable[[int, int], None]:
    """A ``progress(texts_done, texts)`` callback that reports on the console."""
    clock = ScoringClock(device, phase)
    return lambda done, total: reporter.progress(clock.progress(done, total))
