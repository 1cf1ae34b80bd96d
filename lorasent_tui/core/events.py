"""What the trainer reports, as plain dataclasses passed to plain callbacks.

The TUI wraps each one in a Textual message; the CLI prints them. Nothing here knows about either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class StatusUpdate:
    """A phase change before or between epochs: loading the model, tokenizing, evaluating."""

    message: str
    run_id: str | None = None
    device: str | None = None
    # The run's class names in class-id order, on the status that starts training (the data
    # decides them when no --labels were given); None on the others.
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StepProgress:
    """Where a run is: a training step, or (phase "eval") how far an evaluation has got, or
    (phase "teach", before the first epoch) how far a teacher run's labelling of the unlabeled
    texts has got, or (phase "relabel", after an epoch's evaluation) how far the run's own
    pseudo-labelling of them has got, or (phase "test", after the last epoch) how far the test
    split's scoring has got."""

    step: int
    total: int
    epoch: int  # 1-based epoch the step belongs to
    epochs: int
    elapsed: float
    eta: float | None  # seconds left for the whole run: training steps and scoring
    loss: float | None  # mean training loss over the last logging window
    device: str = "cpu"
    phase: str = "train"  # "train", "eval", "teach", "relabel", "test"; scoring commands: "evaluate", "predict"
    fraction: float | None = None  # of the whole run's work (training and scoring), 0..1
    eval_done: int | None = None  # the scoring phases: texts scored so far
    eval_total: int | None = None


def scoring_title(progress: StepProgress) -> str:
    """What is being scored, for the progress line of a phase other than "train"."""
    epoch = f"epoch {progress.epoch}/{progress.epochs}"
    return {"eval": f"evaluating {epoch}", "relabel": f"pseudo-labelling after {epoch}",
            "teach": "the teacher pseudo-labelling", "test": "testing the best epoch",
            "evaluate": "scoring", "predict": "predicting"}.get(progress.phase, progress.phase)


class ScoringClock:
    """StepProgress events of a scoring that is not part of a run (the evaluate command, a file
    scored by predict): elapsed time and ETA count from the first report, so that loading the
    model is not in the ETA."""

    def __init__(self, device: str, phase: str) -> None:
        self.device, self.phase = device, phase
        self.started = time.monotonic()

    def progress(self, done: int, total: int) -> StepProgress:
        if done == 0:
            self.started = time.monotonic()
        elapsed = time.monotonic() - self.started
        eta = elapsed * (total - done) / done if done else None
        return StepProgress(done, total, 1, 1, elapsed, eta, None, self.device, phase=self.phase,
                            fraction=done / max(1, total), eval_done=done, eval_total=total)


@dataclass(frozen=True)
class EpochResult:
    metrics: dict[str, Any]  # records.metric_columns keys and DETAIL_KEYS; None: undefined (an AUC)
    roc: dict[str, list[float]]  # {"fpr": [...], "tpr": [...]}
    is_best: bool
    best_epoch: int


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    run_dir: str
    state: str  # completed | stopped
    best_epoch: int | None
    best_metrics: dict[str, float] | None


@dataclass(frozen=True)
class RunFailed:
    message: str
    run_id: str | None = None
    run_dir: str | None = None
    user_error: bool = False  # bad input or environment (exit status 2), not a bug or crash


def _ignore(_event: Any) -> None:
    return None


@dataclass
class TrainCallbacks:
    on_status: Callable[[StatusUpdate], None] = field(default=_ignore)
    on_progress: Callable[[StepProgress], None] = field(default=_ignore)
    on_epoch: Callable[[EpochResult], None] = field(default=_ignore)
    on_finished: Callable[[RunFinished], None] = field(default=_ignore)
    on_failed: Callable[[RunFailed], None] = field(default=_ignore)


def combine_callbacks(*callbacks: TrainCallbacks | None) -> TrainCallbacks:
    """One TrainCallbacks that calls each given one's hooks, in the order given."""
    present = [c for c in callbacks if c is not None]
    if len(present) == 1:
        return present[0]

    def fan_out(hook: str) -> Callable[[Any], None]:
        handlers = [getattr(c, hook) for c in present]

        def call(event: Any) -> None:
            for handler in handlers:
                handler(event)

        return call

    return TrainCallbacks(**{hook: fan_out(hook) for hook in
                             ("on_status", "on_progress", "on_epoch", "on_finished", "on_failed")})
