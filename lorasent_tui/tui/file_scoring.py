"""The Predict tab's "Score a file" (ctrl+f): every text of a data file, scored by the loaded run.

It asks for the file, then scores it with a predictor of its own (the typed review keeps its own
and never waits behind the file), exactly as ``predict --input FILE`` does
(core/batch_predict.py): the predictions go to ``NAME.predictions.csv`` beside the file, written
whole at the end, never over a file. The line (tui/scoring_line.py) shows the progress, then
where they went; Stop (ctrl+t) ends it after the batch in progress, writing nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lorasent_tui.core.data.pipeline import plural
from lorasent_tui.core.display import format_duration
from lorasent_tui.tui.scoring_line import Report, ScoringLine
from lorasent_tui.tui.settings_file import PathScreen

IDLE_HINT = "ctrl+f scores every text of a data file with the loaded run."


class FileScoring(ScoringLine):
    def __init__(self, **kwargs) -> None:
        super().__init__(IDLE_HINT, **kwargs)

    def ask(self, run_id: str, backend: str) -> None:
        """Ask for the file, then score it with run ``run_id`` on ``backend``."""
        if self.busy():  # before asking, not after
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                path = path.absolute()  # where the predictions went, whatever the working folder
                self.start(f"Scoring {path}", "predict", lambda report, stop: self._score(
                    run_id, backend, path, report, stop))

        title = (f"Score every text of a data file with run {run_id} (CSV, TSV, JSONL, JSON or Parquet; "
                 "the predictions go beside it as NAME.predictions.csv)")
        self.app.push_screen(PathScreen(title, Path.cwd(), "scores"), chosen)

    def _score(self, run_id: str, backend: str, source: Path, report: Report, stop: threading.Event) -> str:
        """In the worker: score ``source`` and say where the predictions went."""
        from lorasent_tui.core.batch_predict import check_output, default_output, score_file

        services = self.app.services
        output = check_output(default_output(source))
        predictor = services.predictors.from_run(run_id, services.runs_dir, backend=backend)
        done = score_file(predictor, str(source), output, predictor.config.text_column, report, stop)
        blank = f" ({plural(done.blank, 'blank row')} without a verdict)" if done.blank else ""
        return (f"Scored {done.scored:,} texts of {source} in {format_duration(done.seconds)}{blank}: "
                f"{done.output}")
