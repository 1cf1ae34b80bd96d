"""Open a study, run its trials as ordinary runs, and rank them.

Each trial calls the core trainer with its own config and run id (``<study>-trial007-ab12``);
its run's status.json names the study and the trial. Each evaluated epoch's metric is reported
to Optuna, whose pruner may stop the run through the trainer's stop event.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import ConfigError, LorasentError
from lorasent_tui.core.events import RunFailed, RunFinished, StatusUpdate, TrainCallbacks, combine_callbacks
from lorasent_tui.core.records import METRIC_KEYS, best_row
from lorasent_tui.core.store import Run
from lorasent_tui.core.sweep.events import (SweepCallbacks, SweepFinished, SweepStarted,
                                            TrialFinished, TrialStarted)
from lorasent_tui.core.sweep.leaderboard import leaderboard, trial_row
from lorasent_tui.core.sweep.space import SearchSpace
from lorasent_tui.core.sweep.storage import (describe_storage, fail_dead_trials, mark_trial_owner,
                                             open_storage, storage_url, sweeps_dir)

SAMPLERS = ("tpe", "random", "grid")
MINIMISED = ("train_loss", "eval_loss", "fpr")  # every other recorded metric is maximised
# Trials finished before the median pruner compares a new trial's epochs with theirs.
PRUNE_AFTER_TRIALS = 3

# What a trial runs: (params to show, config) for an Optuna trial.
Chooser = Callable[[Any], "tuple[dict[str, Any], TrainConfig]"]


class StopSignal(threading.Event):
    """The stop event the trainer polls: set directly (Ctrl+C, pruning), or by its parent
    signal, or by a file appearing (the sweep's STOP file)."""

    def __init__(self, parent: threading.Event | None = None, file: Path | None = None):
        super().__init__()
        self.parent, self.file = parent, file

    def is_set(self) -> bool:
        if not super().is_set() and ((self.parent is not None and self.parent.is_set())
                                     or (self.file is not None and self.file.exists())):
            self.set()
        return super().is_set()


class TrialFailed(Exception):
    """A trial's run failed (not for a user error): the trial is failed and the sweep goes on."""


class TrialStopped(Exception):
    """The sweep was stopped during this trial: it is failed (it does not count) and the sweep ends."""


def direction_of(metric: str) -> str:
    if metric not in METRIC_KEYS or metric == "epoch":
        choices = ", ".join(k for k in METRIC_KEYS if k != "epoch")
        raise ConfigError({"metric": f"unknown metric {metric!r}; choose {choices}"})
    return "minimize" if metric in MINIMISED else "maximize"


@dataclass
class Sweep:
    study: Any  # optuna.Study
    name: str
    storage: str  # for people: no password
    metric: str
    runs_dir: Path
    stop: threading.Event
    failed_stale: tuple[int, ...] = ()

    @property
    def direction(self) -> str:
        return direction_of(self.metric)


def _sampler(name: str, grid: dict[str, list[Any]] | None) -> Any:
    import optuna

    if name == "grid":
        if grid is None:
            raise ConfigError({"sampler": "grid needs a search space"})
        return optuna.samplers.GridSampler(grid)
    if name == "random":
        return optuna.samplers.RandomSampler()
    if name == "tpe":
        return optuna.samplers.TPESampler()
    raise ConfigError({"sampler": f"unknown sampler {name!r}; choose {', '.join(SAMPLERS)}"})


def open_sweep(name: str, *, runs_dir: Path, storage: str | None = None, metric: str = "accuracy",
               sampler: str = "tpe", grid: dict[str, list[Any]] | None = None, prune: bool = True,
               pruner: Any = None, stop: threading.Event | None = None) -> Sweep:
    """Create the study, or continue it when it exists (the same metric is required)."""
    import optuna

    # The sweep reports through its events; Optuna's own log lines would repeat them (and log a
    # traceback for each failed trial).
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    direction = direction_of(metric)
    if pruner is None:
        pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS) if prune \
            else optuna.pruners.NopPruner()
    url = storage_url(storage, runs_dir, name)
    study = optuna.create_study(study_name=name, storage=open_storage(url), sampler=_sampler(sampler, grid),
                                pruner=pruner, direction=direction, load_if_exists=True)
    recorded = study.user_attrs.get("metric")
    if recorded is None:
        study.set_user_attr("metric", metric)
    elif recorded != metric:
        raise ConfigError({"metric": f"study {name} ranks trials by {recorded}; use --metric {recorded} "
                                     "or another --study"})
    return Sweep(study, name, describe_storage(url), metric, Path(runs_dir),
                 stop if stop is not None else threading.Event(), fail_dead_trials(study))


class _TrialReporter:
    """Per-epoch results to Optuna (pruning through the trial's stop event); the sweep's name
    and trial number into the run's status as soon as the run folder exists."""

    def __init__(self, sweep: Sweep, trial: Any, run: Run, stop: StopSignal):
        self.sweep, self.trial, self.run, self.stop = sweep, trial, run, stop
        self.pruned = False
        self.tagged = False

    def callbacks(self) -> TrainCallbacks:
        return TrainCallbacks(on_status=self.on_status, on_epoch=self.on_epoch)

    def tag(self, **extra: Any) -> None:
        if self.run.path.is_dir():
            self.run.update_status(sweep={"study": self.sweep.name, "trial": self.trial.number}, **extra)
            self.tagged = True

    def on_status(self, _event: StatusUpdate) -> None:
        if not self.tagged:
            self.tag()

    def on_epoch(self, event: Any) -> None:
        value = event.metrics.get(self.sweep.metric)
        if value is None:
            return
        self.trial.report(float(value), int(event.metrics["epoch"]))
        if self.trial.should_prune():
            self.pruned = True
            self.stop.set()


def _train(config: TrainConfig, **kwargs: Any) -> Any:
    """One run in this process, or a torchrun job when the config asks for several processes."""
    if config.processes > 1:
        from lorasent_tui.core.launcher import train_subprocess

        return train_subprocess(config, nproc=config.processes, **kwargs)
    from lorasent_tui.core.trainer import train

    return train(config, **kwargs)


def _objective(sweep: Sweep, choose: Chooser, callbacks: SweepCallbacks) -> Callable[[Any], float]:
    import optuna

    def objective(trial: Any) -> float:
        params, config = choose(trial)
        run_id = f"{sweep.name}-trial{trial.number:03d}-{secrets.token_hex(2)}"
        mark_trial_owner(trial)
        trial.set_user_attr("run_id", run_id)
        callbacks.on_trial_started(TrialStarted(sweep.name, trial.number, params, run_id))
        stop = StopSignal(parent=sweep.stop)
        reporter = _TrialReporter(sweep, trial, Run(sweep.runs_dir / run_id), stop)
        result = _train(config, runs_dir=sweep.runs_dir, stop_event=stop, run_id=run_id,
                        callbacks=combine_callbacks(reporter.callbacks(), callbacks.train))
        pruned = reporter.pruned and isinstance(result, RunFinished) and result.state == "stopped"
        reporter.tag(**({"pruned": True} if pruned else {}))
        if isinstance(result, RunFailed):
            trial.set_user_attr("error", result.message)
            if result.user_error:
                raise LorasentError(result.message)  # every trial would fail the same way
            raise TrialFailed(result.message)
        if pruned:
            raise optuna.TrialPruned()
        if result.state == "stopped":
            trial.set_user_attr("stopped", True)
            sweep.study.stop()
            raise TrialStopped()
        best = best_row(Run(Path(result.run_dir)).metrics(), result.best_epoch) or {}
        value = best.get(sweep.metric)
        return float("nan") if value is None else float(value)

    return objective


def search_chooser(space: SearchSpace) -> Chooser:
    def choose(trial: Any) -> tuple[dict[str, Any], TrainConfig]:
        params = space.suggest(trial)
        return params, space.config_for(params)

    return choose


def queue_chooser(sweep: Sweep, items: list[tuple[str, TrainConfig]]) -> tuple[Chooser, int]:
    """The queued configs not yet completed in this study, in order, and how many they are.

    ``items`` are (label, config); the label (the config file) names the trial's settings.
    """
    from optuna.trial import TrialState

    done = {t.user_attrs.get("config") for t in sweep.study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE,))}
    pending = iter([(label, config) for label, config in items if label not in done])

    def choose(trial: Any) -> tuple[dict[str, Any], TrainConfig]:
        label, config = next(pending)
        trial.set_user_attr("config", label)
        return {"config": label}, config

    return choose, sum(1 for label, _ in items if label not in done)


def _grid_done(study: Any) -> bool:
    """Every grid point has a trial: another would repeat one (Optuna's grid then starts over)."""
    import optuna

    return isinstance(study.sampler, optuna.samplers.GridSampler) and study.sampler.is_exhausted(study)


def run_trials(sweep: Sweep, choose: Chooser, n_trials: int,
               callbacks: SweepCallbacks | None = None) -> SweepFinished:
    """Run up to ``n_trials`` trials (fewer when stopped, or when a grid is exhausted)."""
    callbacks = callbacks or SweepCallbacks()
    callbacks.on_sweep_started(started_event(sweep))

    def finished(study: Any, frozen: Any) -> None:
        callbacks.on_trial_finished(TrialFinished(sweep.name, trial_row(frozen),
                                                  frozen.user_attrs.get("error")))
        if sweep.stop.is_set():
            study.stop()

    if not sweep.stop.is_set() and not _grid_done(sweep.study):
        sweep.study.optimize(_objective(sweep, choose, callbacks), n_trials=n_trials,
                             catch=(TrialFailed, TrialStopped), callbacks=[finished])
    result = summarise(sweep)
    callbacks.on_sweep_finished(result)
    return result


def started_event(sweep: Sweep) -> SweepStarted:
    return SweepStarted(sweep.name, sweep.storage, sweep.metric, sweep.direction,
                        len(sweep.study.get_trials(deepcopy=False)), sweep.failed_stale)


def summarise(sweep: Sweep) -> SweepFinished:
    """The study's leaderboard now, with every process's trials."""
    rows = leaderboard(sweep.study.get_trials(deepcopy=False), sweep.direction)
    return SweepFinished(sweep.name, sweep.metric, sweep.direction, rows, sweep.stop.is_set())


def read_studies(runs_dir: Path, storage: str | None = None,
                 name: str | None = None) -> list[SweepFinished]:
    """The leaderboards of existing studies, read only (another process may be running them):
    study ``name``, or every study of ``storage`` (default: every ``<runs>/sweeps/*.db``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if storage:
        urls = [storage]
    else:  # the default storages, without creating one: a status never writes
        files = [sweeps_dir(runs_dir) / f"{name}.db"] if name else sorted(sweeps_dir(runs_dir).glob("*.db"))
        if name and not files[0].is_file():
            raise LorasentError(f"no study {name!r} in {sweeps_dir(runs_dir)}")
        urls = [f"sqlite:///{path}" for path in files]
    boards = []
    for url in urls:
        opened = open_storage(url)
        names = [name] if name else optuna.get_all_study_names(storage=opened)
        for study_name in names:
            try:
                study = optuna.load_study(study_name=study_name, storage=opened)
            except KeyError:
                raise LorasentError(f"no study {study_name!r} in {describe_storage(url)}") from None
            metric = study.user_attrs.get("metric", "accuracy")
            direction = study.direction.name.lower()
            rows = leaderboard(study.get_trials(deepcopy=False), direction)
            boards.append(SweepFinished(study_name, metric, direction, rows, False))
    return boards
