"""What the TUI calls outside itself, injectable for tests, heavy imports deferred.

The defaults import core.trainer / core.predict / core.data only when first called,
which happens inside thread workers, so the first frame never waits for torch.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.store import RunStore
from lorasent_tui.core.labels import LABEL_NAMES
from lorasent_tui.core.events import (
    EpochResult, RunFailed, RunFinished, StatusUpdate, StepProgress, TrainCallbacks,
)
from lorasent_tui.core.sweep.events import LeaderboardRow, SweepCallbacks, SweepFinished
from lorasent_tui.core.sweep.queue_files import QUEUE_STUDY, run_queue
from lorasent_tui.core.sweep.space import SearchSpace
from lorasent_tui.tui.messages import (
    DataPreview, ResumeLoaded, SweepLeaderboard, SweepReport, TrainEpoch, TrainFailed, TrainFinished,
    TrainProgress, TrainStatus,
)

RESUMABLE_STATES = ("stopped", "failed", "interrupted")
EXPLAINERS_KEPT = 3  # the Predict tab's two models and one more (each holds its model)


def _yield_cpu_to_the_ui() -> None:
    """Lower this worker thread's scheduling priority (Linux: nice is per thread).

    torch's OpenMP threads are created by the first parallel region, here, and inherit it, so
    on a machine whose cores training fills, the UI thread still runs as soon as a key comes.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass  # not Linux, or not permitted: training just competes on equal terms


def default_trainer(config: TrainConfig, *, runs_dir: Path, callbacks: TrainCallbacks,
                    stop_event: threading.Event, resume: str | None = None,
                    epochs: int | None = None) -> RunFinished | RunFailed:
    """``epochs``: with ``resume``, the run's total epochs (more than planned extends it)."""
    _yield_cpu_to_the_ui()
    if config.processes > 1:
        from lorasent_tui.core.launcher import train_subprocess

        return train_subprocess(config, runs_dir=runs_dir, callbacks=callbacks, stop_event=stop_event,
                                resume=resume, nproc=config.processes, epochs=epochs)
    from lorasent_tui.core.trainer import train

    return train(config, runs_dir=runs_dir, callbacks=callbacks, stop_event=stop_event, resume=resume,
                 epochs=epochs)


@dataclass(frozen=True)
class SweepRequest:
    """What the Sweeps tab asks for: a search over ``space`` in study ``study``."""

    study: str
    space: SearchSpace
    trials: int
    metric: str
    sampler: str


@dataclass(frozen=True)
class QueueRequest:
    """What "Run queue" asks for: the queued settings (``<runs>/queue``), in order, as trials of ``study``."""

    study: str = QUEUE_STUDY
    metric: str = "accuracy"


def default_sweeper(request: SweepRequest | QueueRequest, *, runs_dir: Path, stop: threading.Event,
                    callbacks: SweepCallbacks,
                    on_leaderboard: Callable[[tuple[LeaderboardRow, ...]], None]) -> SweepFinished:
    """Run the sweep in this (worker) thread; after each trial starts or ends, the study's
    leaderboard as the core ranks it goes to ``on_leaderboard``."""
    _yield_cpu_to_the_ui()
    from lorasent_tui.core.sweep.study import open_sweep, run_trials, search_chooser, summarise

    if isinstance(request, QueueRequest):  # as sweep --configs: fixed configs, nothing to prune
        sweep = open_sweep(request.study, runs_dir=runs_dir, metric=request.metric, prune=False, stop=stop)
    else:
        grid = request.space.grid() if request.sampler == "grid" else None
        sweep = open_sweep(request.study, runs_dir=runs_dir, metric=request.metric, sampler=request.sampler,
                           grid=grid, stop=stop)

    def then_leaderboard(report: Callable[[Any], None]) -> Callable[[Any], None]:
        def both(event: Any) -> None:
            report(event)
            on_leaderboard(summarise(sweep).leaderboard)

        return both

    callbacks = dataclasses.replace(callbacks,
                                    on_trial_started=then_leaderboard(callbacks.on_trial_started),
                                    on_trial_finished=then_leaderboard(callbacks.on_trial_finished))
    if isinstance(request, QueueRequest):
        return run_queue(sweep, callbacks)
    return run_trials(sweep, search_chooser(request.space), request.trials, callbacks)


class SweepBridge:
    """A sweep's callbacks (worker thread) as SweepReport messages posted to ``target``."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def callbacks(self) -> SweepCallbacks:
        post = self.report
        # A trial's epochs too (EpochResult): a real trial takes minutes.
        return SweepCallbacks(on_sweep_started=post, on_trial_started=post, on_trial_finished=post,
                              on_sweep_finished=post, train=TrainCallbacks(on_epoch=post))

    def report(self, event: Any) -> None:
        self.target.post_message(SweepReport(event))

    def leaderboard(self, rows: tuple[LeaderboardRow, ...]) -> None:
        self.target.post_message(SweepLeaderboard(tuple(rows)))


class DefaultPredictorFactory:
    def from_run(self, ref: str, runs_dir: Path, backend: str = "auto") -> Any:
        """``backend``: as ``predict --backend`` (auto: the run's current ONNX export, else torch)."""
        from lorasent_tui.core.onnx_backend import load_predictor

        return load_predictor(ref, runs_dir, backend=backend)

    def export_onnx(self, ref: str, runs_dir: Path) -> Path:
        """The run's own ONNX export (RUN/onnx, int8: the fastest on CPUs), replacing an older one."""
        from lorasent_tui.core.onnx_export import export_onnx

        return export_onnx(ref, runs_dir=runs_dir, quantize="int8")

    def from_base(self, config: TrainConfig) -> Any:
        from lorasent_tui.core.predict import Predictor

        return Predictor.from_base(config)

    def explainer(self, predictor: Any, runs_dir: Path, run_id: str | None = None) -> Any:
        """A core.explain.Explainer of ``predictor``; a run served by ONNX is loaded in torch for it."""
        from lorasent_tui.core.explain import Explainer

        if predictor.model is None and run_id is not None:
            predictor = self.from_run(run_id, runs_dir, backend="torch")
        return Explainer(predictor)


class DefaultDataLoader:
    def load_splits(self, config: TrainConfig) -> Any:
        from lorasent_tui.core.data import load_splits

        return load_splits(config)

    def unlabeled_pool(self, config: TrainConfig, splits: Any) -> list[str]:
        from lorasent_tui.core.data.unlabeled import unlabeled_pool

        return unlabeled_pool(config, splits)


@dataclass
class Services:
    runs_dir: Path
    trainer: Callable[..., Any] = default_trainer
    predictors: Any = field(default_factory=DefaultPredictorFactory)
    data: Any = field(default_factory=DefaultDataLoader)
    sweeper: Callable[..., Any] = default_sweeper
    # The explainers of the last few predictors explained with (id -> (predictor, explainer)),
    # each with its cache of explained texts; the predictor is kept so that its id stays its own.
    explainers: OrderedDict = field(default_factory=OrderedDict, repr=False)
    explainers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def explain(self, predictor: Any, text: str, run_id: str | None = None, target: str | None = None) -> Any:
        """Why ``predictor`` (of run ``run_id``, if any) labels ``text`` as it does, or towards
        ``target``: a core.explain.Explanation. Seconds for a long text: call it in a worker thread."""
        _yield_cpu_to_the_ui()
        with self.explainers_lock:
            if id(predictor) not in self.explainers:
                self.explainers[id(predictor)] = (
                    predictor, self.predictors.explainer(predictor, self.runs_dir, run_id))
                while len(self.explainers) > EXPLAINERS_KEPT:
                    self.explainers.popitem(last=False)
            self.explainers.move_to_end(id(predictor))
            explainer = self.explainers[id(predictor)][1]
        return explainer.explain(text, target)


@dataclass
class TrainingSession:
    """The one training run in flight; the app sets ``stop_event`` when it closes.

    ``config`` is None while a resumed run's saved settings are still being read.
    """

    config: TrainConfig | None
    resume: str | None = None  # the run id being continued
    epochs: int | None = None  # resuming: the run's total epochs (None: as planned)
    stop_event: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return not self.done.is_set()


class MessageBridge:
    """Turns trainer callbacks (trainer thread) into messages posted to ``target``.

    ``post_message`` is thread-safe and non-blocking; ``call_from_thread`` would make
    training wait for the UI. Step progress is throttled to one message per
    ``min_interval`` seconds; the held-back latest step is flushed before any other
    event, and the last step of the run always goes through.
    """

    def __init__(self, target: Any, min_interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.target = target
        self.min_interval = min_interval
        self.clock = clock
        self.finished = False  # a terminal event (finished/failed) was posted
        self._lock = threading.Lock()
        self._last_post = float("-inf")
        self._held: StepProgress | None = None
        self._last_loss: float | None = None
        self._loss_points: list[tuple[int, float]] = []

    def callbacks(self) -> TrainCallbacks:
        return TrainCallbacks(on_status=self.on_status, on_progress=self.on_progress,
                              on_epoch=self.on_epoch, on_finished=self.on_finished,
                              on_failed=self.on_failed)

    def on_progress(self, progress: StepProgress) -> None:
        with self._lock:
            if progress.loss is not None and progress.loss != self._last_loss:
                self._last_loss = progress.loss
                self._loss_points.append((progress.step, float(progress.loss)))
            now = self.clock()
            if progress.step >= progress.total or now - self._last_post >= self.min_interval:
                self._post_progress(progress, now)
            else:
                self._held = progress

    def _post_progress(self, progress: StepProgress, now: float) -> None:
        points, self._loss_points = tuple(self._loss_points), []
        self._held = None
        self._last_post = now
        self.target.post_message(TrainProgress(progress, points))

    def flush(self) -> None:
        with self._lock:
            if self._held is not None:
                self._post_progress(self._held, self.clock())

    def on_status(self, update: StatusUpdate) -> None:
        self.flush()
        self.target.post_message(TrainStatus(update))

    def on_epoch(self, result: EpochResult) -> None:
        self.flush()
        self.target.post_message(TrainEpoch(result))

    def on_finished(self, result: RunFinished) -> None:
        self.flush()
        self.finished = True
        self.target.post_message(TrainFinished(result))

    def on_failed(self, failure: RunFailed) -> None:
        self.flush()
        self.finished = True
        self.target.post_message(TrainFailed(failure))


def read_resume(runs_dir: Path, run_id: str, epochs: int | None = None) -> ResumeLoaded:
    """What the Train tab shows of a run before resuming it (to ``epochs`` in total, when
    given); raises RunError. Thread only."""
    run = RunStore(runs_dir).get(run_id)
    config = run.config()
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    best = run.status().get("best_epoch")
    try:
        rocs = {int(epoch): roc for epoch, roc in run.roc().items()}
    except ValueError:
        rocs = {}  # only the ROC chart of the finished epochs is lost; resuming still works
    return ResumeLoaded(run.run_id, config, run.metrics(), rocs,
                        best if isinstance(best, int) else None)


def label_name(label: Any, label_names: tuple[str, ...] = LABEL_NAMES) -> str:
    names = dict(enumerate(label_names))
    try:
        return names.get(int(label), str(label))
    except (TypeError, ValueError):
        return str(label)


def build_preview(splits: Any, samples_per_split: int = 4, unlabeled: list[str] | None = None,
                  unlabeled_source: str = "") -> DataPreview:
    """Everything the preview shows, computed in the worker thread from core.data.Splits (and
    the run's unlabeled pool, if it has one)."""
    counts: dict[str, dict[str, int]] = {}
    samples: list[tuple[str, str, str]] = []
    names = tuple(getattr(splits, "label_names", LABEL_NAMES))
    for split in ("train", "eval"):
        texts = list(getattr(splits, f"{split}_texts", []) or [])
        labels = list(getattr(splits, f"{split}_labels", []) or [])
        per_class = Counter(label_name(x, names) for x in labels)
        counts[split] = {name: per_class[name] for name in names if per_class[name]}
        # Show both classes when both exist: the first rows of a sorted dataset are all one label.
        seen: dict[str, int] = Counter()
        for text, label in zip(texts, labels):
            name = label_name(label, names)
            if seen[name] < max(1, samples_per_split // 2):
                seen[name] += 1
                samples.append((split, name, " ".join(str(text).split())))
            if sum(seen.values()) >= samples_per_split:
                break
    lengths = [len(str(t).split()) for t in (getattr(splits, "train_texts", []) or [])]
    return DataPreview(counts=counts, samples=samples, lengths=lengths,
                       source=str(getattr(splits, "source", "") or ""),
                       warnings=[str(w) for w in (getattr(splits, "warnings", []) or [])],
                       unlabeled_lengths=[len(str(t).split()) for t in unlabeled or []],
                       unlabeled_source=unlabeled_source)
