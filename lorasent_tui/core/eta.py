"""How much of a run is done and how long the rest takes: training steps and scoring.

Both kinds of work are counted in one unit, estimated seconds, so the progress fraction keeps
moving while the model scores texts and the ETA includes the scoring still to come: each epoch's
evaluation and, in a run with unlabeled texts, the pool's pseudo-labelling after every epoch but
the last (and the teacher's, before the first).
Pure arithmetic over measured times: the trainer feeds it, tests feed it synthetic timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Before the first evaluation of a run there is no measured cost per evaluated view. A training
# step is a forward and a backward pass over ``batch_size`` texts, and the backward pass costs
# about twice the forward one, so scoring one view (forward only, texts of the same length) is
# guessed at a third of a training step's cost per text. Sliding windows are accounted for by
# multiplying by the number of views, not texts.
FORWARD_SHARE_OF_A_STEP = 1 / 3
@dataclass
class WorkEstimate:
    """The run's work in estimated seconds; fed with this run's measured times."""

    steps_per_epoch: int
    epochs: int
    eval_views: int  # views scored per evaluation (texts, or more with sliding windows)
    batch_size: int
    pool_views: int = 0  # views scored per pseudo-labelling of the unlabeled pool (0: no pool)
    taught: bool = False  # a teacher run labels the pool once more, before the first epoch
    # A step with a pseudo-labelled batch beside its labelled one (unlabeled_ratio times as many
    # texts) costs more, so the two kinds of step are timed apart; until one kind is measured,
    # it is guessed from the other at (1 + unlabeled_ratio) times the cost.
    unlabeled_ratio: int = 1
    # Training time measured in this process and the steps it covered, by kind (with pseudo-labels).
    timed: dict = field(default_factory=lambda: {False: [0.0, 0], True: [0.0, 0]})
    epoch_now: int = 0  # the epoch being trained (or last trained) in this process
    pseudo_now: bool = False  # whether it trains with pseudo-labelled batches
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

    def start_epoch(self, epoch: int, pseudo: bool) -> None:
        self.epoch_now, self.pseudo_now = epoch, pseudo

    def add_training(self, seconds: float, steps: int) -> None:
        timed = self.timed[self.pseudo_now]
        timed[0] += seconds
        timed[1] += steps

    def trains_on_pseudo_labels(self, epoch: int) -> bool:
        """Whether ``epoch`` is expected to train with pseudo-labelled batches: every epoch after
        the first selection (after epoch 1, or the teacher's before it)."""
        return self.pool_views > 0 and (epoch > 1 or self.taught)

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

    def step_seconds(self, pseudo: bool = False) -> float | None:
        """Seconds per step of that kind: measured, else from the other kind, else the prior."""
        seconds, steps = self.timed[pseudo]
        if steps:
            return seconds / steps
        seconds, steps = self.timed[not pseudo]
        if steps:
            factor = 1 + self.unlabeled_ratio
            return seconds / steps * (factor if pseudo else 1 / factor)
        return self.prior_step_s

    def training_seconds(self, step: int) -> tuple[float, float] | None:
        """(seconds of training done, seconds left) after ``step`` steps, or None (unmeasured)."""
        done = left = 0.0
        for epoch in range(1, self.epochs + 1):
            pseudo = self.pseudo_now if epoch == self.epoch_now else self.trains_on_pseudo_labels(epoch)
            pace = self.step_seconds(pseudo)
            if pace is None:
                return None
            steps_done = min(self.steps_per_epoch, max(0, step - (epoch - 1) * self.steps_per_epoch))
            done += steps_done * pace
            left += (self.steps_per_epoch - steps_done) * pace
        return done, left

    def view_seconds(self) -> float | None:
        if self.view_s is not None:
            return self.view_s
        step_s = self.step_seconds(pseudo=False)
        if step_s is None:
            return None
        return step_s / max(1, self.batch_size) * FORWARD_SHARE_OF_A_STEP

    def progress(self, step: int, views_scored: int) -> tuple[float, float | None]:
        """(fraction of the whole run done, seconds left or None) after ``step`` training steps
        and ``views_scored`` views of all the run's scoring (see ``views_before``)."""
        total_steps = self.steps_per_epoch * self.epochs
        training, view_s = self.training_seconds(step), self.view_seconds()
        if training is None or view_s is None:
            fraction, left = (step / total_steps if total_steps else 0.0), None
        else:
            done = training[0] + views_scored * view_s
            left = training[1] + max(0, self.views_before(self.epochs + 1) - views_scored) * view_s
            fraction = done / (done + left) if done + left > 0 else 1.0
        self.reported = max(self.reported, fraction)
        return self.reported, left
