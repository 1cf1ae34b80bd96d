"""Textual messages, as dataclasses (Message.__post_init__ initialises the base).

Training messages wrap the core's event dataclasses unchanged; thread workers send
them with ``post_message``, which is thread-safe and never blocks the sender.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.events import EpochResult, RunFailed, RunFinished, StatusUpdate, StepProgress


@dataclass
class TrainStatus(Message):
    update: StatusUpdate


@dataclass
class TrainProgress(Message):
    progress: StepProgress
    # (global step, loss) for every new logging-window loss since the previous message,
    # so throttling progress never drops points from the step-loss chart.
    loss_points: tuple[tuple[int, float], ...] = ()


@dataclass
class TrainEpoch(Message):
    result: EpochResult


@dataclass
class TrainFinished(Message):
    result: RunFinished


@dataclass
class TrainFailed(Message):
    failure: RunFailed


@dataclass
class ResumeLoaded(Message):
    """A run about to be resumed, as saved: its settings and the epochs it finished."""

    run_id: str
    config: TrainConfig
    rows: list[dict[str, Any]]  # metrics.jsonl
    rocs: dict[int, dict[str, Any]]  # roc.json, by epoch
    best_epoch: int | None = None


@dataclass
class ResumeRun(Message):
    """The Runs tab asks for run ``run_id`` to be continued on the Train tab."""

    run_id: str
    epochs: int | None = None  # the run's total epochs after resuming; None: as planned


@dataclass
class UseSettings(Message):
    """Load a run's settings into the Train form (the Runs tab and the run detail ask)."""

    config: TrainConfig
    run_id: str


@dataclass
class DataPreview:
    counts: dict[str, dict[str, int]]  # split -> label name -> rows
    samples: list[tuple[str, str, str]]  # (split, label name, text)
    lengths: list[int]  # words per train review
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    unlabeled_lengths: list[int] = field(default_factory=list)  # words per unlabeled text
    unlabeled_source: str = ""  # config.unlabeled; "" when the run has none


@dataclass
class PreviewLoaded(Message):
    preview: DataPreview


@dataclass
class ShowStatus(Message):
    """Anything that wants the user told something posts this; the app shows it in one place."""

    text: str
    severity: str = "information"  # information | warning | error


@dataclass
class RunReady(Message):
    """A run has a usable adapter: the Predict tab should load it."""

    run_id: str
    switch_tab: bool = False


@dataclass
class RunEnded(Message):
    """The trainer is done (finished, stopped or failed): its objects may be collected."""


@dataclass
class RunDeleted(Message):
    """The Runs tab deleted ``run_id``: whatever has it loaded lets it go."""

    run_id: str


@dataclass
class RunsChanged(Message):
    """Runs were created or deleted: the Runs table should refresh."""


@dataclass
class PredictorsLoaded(Message):
    base: Any
    trained: Any
    run_id: str | None
    base_key: Any = None
    request: int = 0  # answers to an older load are dropped


@dataclass
class PredictionsReady(Message):
    request: int
    text: str
    base: Any  # core.predict.Prediction | None
    trained: Any
    note: str = ""  # how the text was read, when that matters (long, non-Latin)


@dataclass
class ExamplesReady(Message):
    base: list[Any] | None
    trained: list[Any] | None
    request: int = 0  # answers for a model unloaded meanwhile are dropped


@dataclass
class RunsListed(Message):
    summaries: list[Any]  # core.store.RunSummary
    error: str | None = None


@dataclass
class RunDataLoaded(Message):
    runs: list[Any]  # run_detail.RunData


@dataclass
class SweepReport(Message):
    """A sweep's event (core.sweep.events: SweepStarted, TrialStarted, TrialFinished,
    SweepFinished; a trial's EpochResult), unchanged."""

    event: Any


@dataclass
class SweepLeaderboard(Message):
    """The study's trials as the core ranks them, best first (LeaderboardRow)."""

    rows: tuple[Any, ...]


@dataclass
class SweepFailed(Message):
    message: str

