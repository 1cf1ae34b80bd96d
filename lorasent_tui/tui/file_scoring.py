"""The Predict tab's "Score a file" (ctrl+f): every text of a data file, scored by the loaded run.

It asks for the file, then scores it in a thread worker with a predictor of its own (the typed
review keeps its own and never waits behind the file), exactly as ``predict --input FILE`` does
(core/batch_predict.py): the predictions go to ``NAME.predictions.csv`` beside the file, written
whole at the end, never over a file. This line shows the progress, then where they went; Stop
(ctrl+t) ends it after the batch in progress, writing nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work
from textual.widgets import Static

from lorasent_tui.core.data.pipeline import plural
from lorasent_tui.core.display import format_duration
from lorasent_tui.core.errors import describe_exception
from lorasent_tui.core.events import ScoringClock
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.messages import FileScoringEnded, FileScoringProgress
from lorasent_tui.tui.progress_text import progress_line
from lorasent_tui.tui.settings_file import PathScreen

IDLE_HINT = "ctrl+f scores every text of a data file with the loaded run."


class FileScoring(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__(IDLE_HINT, **kwargs)
        self.stop_event: threading.Event | None = None  # set while a file is being scored

    @property
    def running(self) -> bool:
        return self.stop_event is not None

    def ask(self, run_id: str, backend: str) -> None:
        """Ask for the file, then score it with run ``run_id`` on ``backend``."""
        if self.running:
            self.app.show_status("A file is being scored already; stop it (ctrl+t) first.", "warning")
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                path = path.absolute()  # where the predictions went, whatever the working folder
                self.stop_event = threading.Event()
                self.app.refresh_bindings()  # Stop is live now
                self.update(f"Scoring {path} with run {run_id}: loading the model…")
                self._score(run_id, backend, path, self.stop_event)

        title = (f"Score every text of a data file with run {run_id} (CSV, TSV, JSONL, JSON or Parquet; "
                 "the predictions go beside it as NAME.predictions.csv)")
        self.app.push_screen(PathScreen(title, Path.cwd(), "scores"), chosen)

    def stop(self) -> bool:
        """Stop the scoring in progress, if any; True if there was one."""
        if self.stop_event is None:
            return False
        self.stop_event.set()
        self.update("Stopping the file's scoring after this batch…")
        return True

    def on_unmount(self) -> None:
        # The app is closing: a thread worker cannot be cancelled, only asked to stop.
        if self.stop_event is not None:
            self.stop_event.set()

    @work(thread=True, exclusive=True, group="score-file", exit_on_error=False, name="score file")
    def _score(self, run_id: str, backend: str, source: Path, stop: threading.Event) -> None:
        from lorasent_tui.core.batch_predict import check_output, default_output, score_file
        from lorasent_tui.core.scoring import ScoringStopped

        services = self.app.services
        clock = ScoringClock("cpu", "predict")
        try:
            output = check_output(default_output(source))
            predictor = services.predictors.from_run(run_id, services.runs_dir, backend=backend)
            text_column = RunStore(services.runs_dir).get(run_id).config().text_column

            def report(done: int, total: int) -> None:
                self.post_message(FileScoringProgress(clock.progress(done, total)))

            result = score_file(predictor, str(source), output, text_column, report, stop)
        except ScoringStopped:
            self.post_message(FileScoringEnded(str(source), stopped=True))
            return
        except Exception as exc:  # a bad file or model is a message, never a crash
            self.post_message(FileScoringEnded(str(source), why=describe_exception(exc)))
            return
        self.post_message(FileScoringEnded(str(source), result))

    def on_file_scoring_progress(self, message: FileScoringProgress) -> None:
        message.stop()
        if self.stop_event is not None and not self.stop_event.is_set():
            self.update(progress_line(message.progress))

    def on_file_scoring_ended(self, message: FileScoringEnded) -> None:
        message.stop()
        self.stop_event = None
        self.app.refresh_bindings()
        done = message.result
        if done is None:
            ended = (f"Scoring {message.source} stopped; nothing was written." if message.stopped
                     else f"Not scored: {message.why}")
            self.update(f"{ended} {IDLE_HINT}")
            self.app.show_status(ended, "information" if message.stopped else "error")
            return
        blank = f" ({plural(done.blank, 'blank row')} without a verdict)" if done.blank else ""
        took = format_duration(done.seconds)
        line = f"Scored {done.scored:,} texts of {message.source} in {took}{blank}: {done.output}"
        self.update(line)
        self.app.show_status(line + ".")
