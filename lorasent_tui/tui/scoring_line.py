"""A line that runs one long scoring at a time in a thread worker (a whole file's predictions on
the Predict tab, an evaluation in a run's view) and shows its progress, then how it ended.

The job is a plain function ``job(report, stop)``: it calls ``report(texts_done, texts)`` as it
goes, raises core.scoring.ScoringStopped once ``stop`` is set, and returns the line to show when
it is done. Stop (ctrl+t) sets the event; so does the line leaving the screen (closing the view
or the app), since a thread worker cannot be cancelled, only asked to stop. The line's Ended
message goes on to its screen, which may refresh what the job wrote.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable

from textual import work
from textual.message import Message
from textual.widgets import Static

from lorasent_tui.core.errors import describe_exception
from lorasent_tui.core.events import ScoringClock, StepProgress
from lorasent_tui.tui.progress_text import progress_line

Report = Callable[[int, int], None]
Job = Callable[[Report, threading.Event], str]


class ScoringLine(Static):
    @dataclass
    class Progress(Message):
        progress: StepProgress

    @dataclass
    class Ended(Message):
        """``done``: the job's line when it finished; else it was ``stopped`` or failed (``why``)."""

        what: str
        done: str = ""
        stopped: bool = False
        why: str = ""

    def __init__(self, idle: str, **kwargs: Any) -> None:
        super().__init__(idle, **kwargs)
        self.idle = idle
        self.stop_event: threading.Event | None = None  # set while a job runs

    @property
    def running(self) -> bool:
        return self.stop_event is not None

    def busy(self) -> bool:
        """True, saying so, while a job runs: a line runs one at a time."""
        if self.running:
            self.app.show_status("A scoring runs here already; ctrl+t stops it.", "warning")
        return self.running

    def start(self, what: str, phase: str, job: Job) -> None:
        """Run ``job`` (``what``: "Scoring reviews.csv", for the line) in a worker."""
        if self.busy():
            return
        self.stop_event = threading.Event()
        self.app.refresh_bindings()  # Stop is live now
        self.update(f"{what}: loading the model…")
        self._run(what, phase, job, self.stop_event)

    def stop(self) -> bool:
        """Stop the job in progress, if any; True if there was one."""
        if self.stop_event is None:
            return False
        self.stop_event.set()
        self.update("Stopping after this batch…")
        return True

    def on_unmount(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()

    @work(thread=True, exclusive=True, group="scoring-line", exit_on_error=False, name="scoring line")
    def _run(self, what: str, phase: str, job: Job, stop: threading.Event) -> None:
        from lorasent_tui.core.scoring import ScoringStopped

        clock = ScoringClock("cpu", phase)

        def report(done: int, total: int) -> None:
            self.post_message(self.Progress(clock.progress(done, total)))

        try:
            done = job(report, stop)
        except ScoringStopped:
            self.post_message(self.Ended(what, stopped=True))
            return
        except Exception as exc:  # a bad file or model is a message, never a crash
            self.post_message(self.Ended(what, why=describe_exception(exc)))
            return
        self.post_message(self.Ended(what, done))

    def on_scoring_line_progress(self, message: Progress) -> None:
        message.stop()
        if self.stop_event is not None and not self.stop_event.is_set():
            self.update(f"{progress_line(message.progress)} · ctrl+t stops")

    def on_scoring_line_ended(self, message: Ended) -> None:
        # Not stopped here: the screen may want to know (an evaluation refreshes its list).
        self.stop_event = None
        self.app.refresh_bindings()
        if message.done:
            self.update(message.done)
            self.app.show_status(message.done + ".")
            return
        ended = (f"{message.what} stopped; nothing was written." if message.stopped
                 else f"{message.what} failed: {message.why}")
        self.update(f"{ended} {self.idle}")
        self.app.show_status(ended, "information" if message.stopped else "error")
