"""What a sweep reports, as plain dataclasses passed to plain callbacks (like core/events.py).

Each trial's own training also reports through ``SweepCallbacks.train`` (the trainer's
callbacks), so a front end can show a trial's epochs exactly as it shows a run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from lorasent_tui.core.events import TrainCallbacks


@dataclass(frozen=True)
class LeaderboardRow:
    number: int  # the trial's number in its study
    state: str  # complete, pruned, fail, running, waiting (Optuna's trial states, lower case)
    value: float | None  # the sweep's metric; a pruned trial's is its last reported epoch's
    params: dict[str, Any]
    run_id: str | None
    duration: float | None  # seconds
    is_best: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SweepStarted:
    study: str
    storage: str
    metric: str
    direction: str  # maximize | minimize
    trials_before: int  # trials the study already held (a continued study)
    failed_stale: tuple[int, ...] = ()  # RUNNING trials of dead processes, now marked failed


@dataclass(frozen=True)
class TrialStarted:
    study: str
    number: int
    params: dict[str, Any]
    run_id: str


@dataclass(frozen=True)
class TrialFinished:
    study: str
    row: LeaderboardRow
    message: str | None = None  # why a trial failed


@dataclass(frozen=True)
class SweepFinished:
    study: str
    metric: str
    direction: str
    leaderboard: tuple[LeaderboardRow, ...]
    stopped: bool  # ended by Ctrl+C or the STOP file, not by running out of trials


def _ignore(_event: Any) -> None:
    return None


@dataclass
class SweepCallbacks:
    on_sweep_started: Callable[[SweepStarted], None] = field(default=_ignore)
    on_trial_started: Callable[[TrialStarted], None] = field(default=_ignore)
    on_trial_finished: Callable[[TrialFinished], None] = field(default=_ignore)
    on_sweep_finished: Callable[[SweepFinished], None] = field(default=_ignore)
    train: TrainCallbacks = field(default_factory=TrainCallbacks)
