"""How much of a run is done and how long the rest takes: training steps and scoring.

Both kinds of work are counted in one unit, estimated seconds, so the progress fraction keeps
moving while the model scores texts and the ETA includes the scoring still to come: each epoch's
evaluation and, in a run with unlabeled texts, the pool's pseudo-labelling after every epoch but
the last (and the teacher's, before the first).
Pure arithmetic over measured times: the trainer feeds it, tests feed it synthetic timings.
"""

from __future__ import annotations

from dataclasses import dataclass

# Before the first evaluation of a run there is no measured cost per evaluated view. A training
# step is a forward and a backward pass over ``batch_size`` texts, and the backward pass costs
# about twice the forward one, so scoring one view (forward only, texts of the same length) is
# guessed at a third of a training step's cost per text. Sliding windows are accounted for by
# multiplying by the number of views, not texts.
FORWARD_SHARE_OF_A_STEP = 1 / 3
# Steps of the epoch in progress after which its own pace predicts the rest: an epoch that trains
# on pseudo-labels costs (1 + unlabeled_ratio) times one that does not, so the run's mean pace
# would underestimate every epoch after the first selection.
PACE_STEPS = 20


@dataclass
class WorkEstimate:
    """The run's work in estimated seconds; fed with this run's measured times."""

    steps_per_epoch: int
    epochs: int
    eval_views: int  # views scored per evaluation (texts, or more with sliding windows)
    batch_size: int
    pool_views: int = 0  # views scored per pseudo-labelling of the unlabeled pool (0: no pool)
    taught: bool = False  # a teacher run labels the pool once more, before the first epoch
    train_s: float = 0.0  # training time measured in this process
    train_steps: int = 0  # steps it covered
    epoch_s: float = 0.0  # training time of the epoch in progress
    epoch_steps: int = 0
    prior_step_s: float | None = None  # seconds per step recorded by earlier sessions (resume)
    view_s: float | None = None  # seconds per view of the last scoring
    # The largest fraction reported: a re-estimate (a slower scoring than guessed) holds the bar
    # where it is until the work catches up, instead of moving it back.
    reported: float = 0.0

    def seed(self, epoch_times: list[dict]) -> None:
        """Start from a resumed run's recorded epochs (``status.json`` ``epoch_times``)."""
        if not epoch_times:
            return
        last = epoch_times[-1]
        if self.steps_per_epoch and last.get("train_s"):
            self.prior_step_s = float(last["train_s"]) / self.steps_per_epoch
        if self.eval_views and last.get("eval_s"):
            self.view_s = float(last["eval_s"]) / self.eval_views

    def start_epoch(self) -> None:
        self.epoch_s, self.epoch_steps = 0.0, 0

    def add_training(self, seconds: float, steps: int) -> None:
        self.train_s += seconds
        self.train_steps += steps
        self.epoch_s += seconds
        self.epoch_steps += steps

    def add_scoring(self, seconds: float, views: int) -> None:
        if views:
            self.view_s = seconds / views

    def relabels_after(self, epoch: int) -> bool:
        """Whether the pool is pseudo-labelled again after ``epoch`` (core/pseudo_labels.relabel)."""
        return self.pool_views > 0 and epoch < self.epochs

    def views_before(self, epoch: int) -> int:
        """Views the run has scored when ``epoch``'s training is over: the teacher's labelling,
        the earlier epochs' evaluations and the pseudo-labelling after each of them."""
        relabellings = sum(self.relabels_after(e) for e in range(1, epoch))
        return ((self.pool_views if self.taught else 0) + (epoch - 1) * self.eval_views
                + relabellings * self.pool_views)

    def step_seconds(self) -> float | None:
        if self.epoch_steps >= PACE_STEPS:
            return self.epoch_s / self.epoch_steps
        if self.train_steps:
            return self.train_s / self.train_steps
        return self.prior_step_s

    def view_seconds(self) -> float | None:
        if self.view_s is not None:
            return self.view_s
        step_s = self.step_seconds()
        if step_s is None:
            return None
        return step_s / max(1, self.batch_size) * FORWARD_SHARE_OF_A_STEP

    def progress(self, step: int, views_scored: int) -> tuple[float, float | None]:
        """(fraction of the whole run done, seconds left or None) after ``step`` training steps
        and ``views_scored`` views of all the run's scoring (see ``views_before``)."""
        total_steps = self.steps_per_epoch * self.epochs
        step_s, view_s = self.step_seconds(), self.view_seconds()
        if step_s is None or view_s is None:
            fraction, left = (step / total_steps if total_steps else 0.0), None
        else:
            done = step * step_s + views_scored * view_s
            left = (max(0, total_steps - step) * step_s
                    + max(0, self.views_before(self.epochs + 1) - views_scored) * view_s)
            fraction = done / (done + left) if done + left > 0 else 1.0
        self.reported = max(self.reported, fraction)
        return self.reported, left
