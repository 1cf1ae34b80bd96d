"""A run view's "Evaluate" (e): the run's best epoch scored on other labelled data, as
``lorasent-tui evaluate RUN --dataset DATA`` does (core/evaluate.py), kept under
``RUN/evaluations/NAME/``. The line (tui/scoring_line.py) shows the progress, then the result;
Stop (ctrl+t), or closing the view, ends it after the batch in progress, writing nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.scoring_line import Report, ScoringLine
from lorasent_tui.tui.settings_file import PathScreen

IDLE_HINT = "e evaluates this run on other labelled data."
DEFAULT_DATASET = "rotten_tomatoes"


class EvaluationLine(ScoringLine):
    def __init__(self, run_path: Path, **kwargs) -> None:
        super().__init__(IDLE_HINT, **kwargs)
        self.run_path = run_path

    def ask(self) -> None:
        """Ask for the data, then evaluate the run on it."""
        if self.busy():  # before asking, not after
            return

        def chosen(dataset: Path | None) -> None:
            if dataset is not None:
                self.start(f"Evaluating on {dataset}", "evaluate",
                           lambda report, stop: self._evaluate(str(dataset), report, stop))

        title = (f"Evaluate run {self.run_path.name} on labelled data: a data file with its text and "
                 "label columns, imdb, rotten_tomatoes or a Hugging Face dataset id (texts it trained, "
                 "validated or tested on are left out)")
        self.app.push_screen(PathScreen(title, Path(DEFAULT_DATASET), "evaluates"), chosen)

    def _evaluate(self, dataset: str, report: Report, stop: threading.Event) -> str:
        """In the worker: score ``dataset`` and summarise the result."""
        from lorasent_tui.core.evaluate import evaluate_run, evaluation_data
        from lorasent_tui.core.results import summary_line

        run = RunStore(self.run_path.parent).get(self.run_path.name)
        config = run.config()
        data = evaluation_data(run, dataset, None, 0, config.text_column, config.label_column)
        result = evaluate_run(run, data, None, "cpu", report, stop)
        left_out = f"; {data.excluded:,} texts it had seen left out" if data.excluded else ""
        return f"{summary_line(result, f'Evaluation {result.name}')}{left_out}; saved to {result.path}"
