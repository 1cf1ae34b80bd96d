"""The run detail's decision view: a binary run's operating point and a reliability chart.

The operating point (core/threshold.py, chosen on the best epoch's validation predictions)
shows precision, recall, F1, TPR and FPR on validation, and on test when the run has a test
split; ``cycle_threshold`` steps through max F1, Youden's J and FPR ≤ 5% and saves the choice
with the run (core/decision.py). The reliability chart draws accuracy against confidence per
confidence bin (core/calibration.py), after calibration too when the run has one. Run files are
read and written in thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from textual import work
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.metrics import DEFAULT_THRESHOLD
from lorasent_tui.core.threshold import DEFAULT_MAX_FPR, POINT_KEYS, method_name
from lorasent_tui.tui.widgets.charts import GRAY, ChartSpec, LineChart, Series

# What the threshold key steps through, in order: (method, max_fpr).
THRESHOLD_CHOICES: tuple[tuple[str, float | None], ...] = (
    ("f1", None), ("youden", None), ("fpr", DEFAULT_MAX_FPR))
POINT_HEADERS = {"precision": "Prec", "recall": "Recall", "f1": "F1", "tpr": "TPR", "fpr": "FPR",
                 "accuracy": "Acc"}


@dataclass
class DecisionData:
    """What the view shows of one run, read in a worker."""

    binary: bool
    has_predictions: bool
    chosen: dict[str, Any] | None = None  # threshold.json
    calibration: dict[str, Any] | None = None  # calibration.json
    points: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> metrics at it
    reliability: list[Series] = field(default_factory=list)
    ece: float | None = None  # of the validation predictions, as the model gives them
    problem: str | None = None


def load_decision(run_dir: Path) -> DecisionData:
    from lorasent_tui.core.calibration import (expected_calibration_error, read_calibration,
                                               reliability_bins, scaled_probabilities)
    from lorasent_tui.core.decision import saved_predictions, threshold_report
    from lorasent_tui.core.labels import run_label_names
    from lorasent_tui.core.store import Run
    from lorasent_tui.core.threshold import read_threshold

    run = Run(run_dir)
    binary = len(run_label_names(run.config().labels)) == 2
    sets = saved_predictions(run)
    data = DecisionData(binary, "validation" in sets, read_threshold(run.path) if binary else None,
                        read_calibration(run.path))
    validation = sets.get("validation")
    if validation is None:
        return data
    data.ece = expected_calibration_error(validation.y_true, validation.probs)
    threshold = DEFAULT_THRESHOLD if data.chosen is None else data.chosen["threshold"]
    data.points = threshold_report(run, threshold, sets) if binary else {}
    curves = [("model", None)]
    if data.calibration is not None:
        curves.append((f"T = {data.calibration['temperature']:.2f}", data.calibration["temperature"]))
    for label, temperature in curves:
        bins = reliability_bins(validation.y_true, scaled_probabilities(validation.probs, temperature))
        shown = [b for b in bins if b["count"]]
        data.reliability.append(Series(label, [b["confidence"] for b in shown],
                                       [b["accuracy"] for b in shown], points=True))
    return data


def point_table(data: DecisionData) -> Table:
    table = Table(box=None, padding=(0, 0, 0, 1), show_edge=False)
    table.add_column("")
    for key in POINT_KEYS:
        table.add_column(POINT_HEADERS[key], justify="right")
    for split, metrics in data.points.items():
        table.add_row(split, *(format_metric(metrics[key]) for key in POINT_KEYS))
    return table


def summary_lines(data: DecisionData) -> list[str]:
    lines = []
    if data.binary:
        chosen = data.chosen or {"method": "default", "threshold": DEFAULT_THRESHOLD}
        lines.append(f"Threshold {chosen['threshold']:.4f} · "
                     f"{method_name(chosen['method'], chosen.get('max_fpr'))} (t: next)")
    fit = data.calibration
    if fit is not None:
        lines.append(f"Calibrated: T {fit['temperature']:.2f}, validation ECE "
                     f"{format_metric(fit.get('ece_before'))} → {format_metric(fit.get('ece_after'))}")
    else:
        lines.append(f"Validation ECE {format_metric(data.ece)} · not calibrated "
                     "(lorasent-tui calibrate RUN)")
    return lines


class DecisionLoaded(Message):
    def __init__(self, data: DecisionData) -> None:
        super().__init__()
        self.data = data


class ReliabilityChart(LineChart):
    empty_text = "no saved validation predictions"

    def __init__(self, **kwargs: Any) -> None:
        diagonal = Series("", [0.0, 1.0], [0.0, 1.0], color=GRAY)
        super().__init__(ChartSpec("Reliability · accuracy against confidence", xlim=(0, 1),
                                   ylim=(0, 1), extra=[diagonal]), **kwargs)


class DecisionView(Horizontal):
    DEFAULT_CSS = """
    DecisionView { height: 10; }
    DecisionView > #decision-text { width: 1fr; padding-right: 1; }
    DecisionView > ReliabilityChart { width: 1fr; min-height: 8; }
    """

    def __init__(self, run_dir: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_dir = Path(run_dir)
        self.data: DecisionData | None = None

    def compose(self):
        yield Static("reading saved predictions…", id="decision-text")
        yield ReliabilityChart(id="decision-reliability")

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="decision", exit_on_error=False, name="read decision")
    def _load(self, choice: tuple[str, float | None] | None = None) -> None:
        from lorasent_tui.core.decision import choose_run_threshold
        from lorasent_tui.core.errors import describe_exception
        from lorasent_tui.core.store import Run

        try:
            if choice is not None:
                choose_run_threshold(Run(self.run_dir), choice[0],
                                     DEFAULT_MAX_FPR if choice[1] is None else choice[1])
            data = load_decision(self.run_dir)
        except Exception as exc:  # noqa: BLE001 - shown in the view, never a traceback
            data = DecisionData(binary=False, has_predictions=False, problem=describe_exception(exc))
        self.post_message(DecisionLoaded(data))

    def on_decision_loaded(self, message: DecisionLoaded) -> None:
        message.stop()
        self.data = data = message.data
        text = self.query_one("#decision-text", Static)
        if data.problem:
            text.update(data.problem)
        elif not data.has_predictions:
            text.update("This run has no saved validation predictions (runs trained before they "
                        "were kept), so no threshold or reliability chart.")
        else:
            table = point_table(data) if data.points else ""
            text.update(Group(*summary_lines(data), table))
        self.query_one(ReliabilityChart).set_series(data.reliability)

    def cycle_threshold(self) -> None:
        """Save the next operating point of THRESHOLD_CHOICES (max F1 first)."""
        data = self.data
        if data is None or not data.binary or not data.has_predictions:
            self.notify("A threshold needs a binary run with saved validation predictions.",
                        severity="warning")
            return
        current = (data.chosen or {}).get("method")
        methods = [method for method, _ in THRESHOLD_CHOICES]
        index = (methods.index(current) + 1) % len(methods) if current in methods else 0
        self._load(THRESHOLD_CHOICES[index])
