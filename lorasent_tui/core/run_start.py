"""Opening a run before it trains: the inputs checked before any folder exists, the class names
recorded, a new run folder created or a stopped run reopened (resume, extension), and every
rank of a distributed job given the same run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from lorasent_tui.core.config import TrainConfig, validate
from lorasent_tui.core.distributed import DistContext
from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.events import StatusUpdate, TrainCallbacks
from lorasent_tui.core.pseudo_labels import resolve_teacher
from lorasent_tui.core.session import Session, pick_device, schedule_segments
from lorasent_tui.core.store import Run, RunStore


def _check_inputs(config: TrainConfig, callbacks: TrainCallbacks) -> tuple[Any, list[str]]:
    """Load the data and resolve the model before a run folder exists, so that a typo fails
    without leaving a failed run behind; the loaded splits and unlabeled pool are handed on to
    the session."""
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.data.unlabeled import unlabeled_pool
    from lorasent_tui.core.models import check_model

    pick_device(config.device)
    callbacks.on_status(StatusUpdate("loading data"))
    splits = load_splits(config)
    pool = unlabeled_pool(config, splits)
    check_model(config.model)
    return splits, pool


def _with_data_labels(config: TrainConfig, splits: Any) -> TrainConfig:
    """The config the run records: the data's class names fixed (see labels.recorded_labels),
    so that resuming, predicting and exporting use the class ids it was trained with."""
    from lorasent_tui.core.labels import recorded_labels

    if config.labels is not None:
        return config
    return dataclasses.replace(config, labels=recorded_labels(splits.label_names))


def _open_run(config: TrainConfig, runs_dir: Path, resume: str | None, run_id: str | None,
              epochs: int | None) -> tuple[TrainConfig, Run, list[int]]:
    """The run to train and its learning-rate segments; a resume reads the run's own config."""
    from lorasent_tui.core.checkpoint import checkpoint_state

    store = RunStore(runs_dir)
    if resume is None:
        return config, store.create(config, run_id=run_id), [config.epochs]
    run = store.get(resume)
    state = run.effective_state()
    if state == "running":
        raise RunError(f"run {run.run_id} is still running (pid {run.status().get('pid')})")
    saved = run.config()
    target = saved.epochs if epochs is None else epochs
    if target < saved.epochs:
        raise RunError(f"run {run.run_id} has {saved.epochs} epochs; --epochs can extend a run, "
                       f"not shorten it")
    if state == "completed" and target == saved.epochs:
        raise RunError(f"run {run.run_id} is already completed; nothing to resume "
                       f"(pass --epochs above {saved.epochs} to train it further)")
    if state == "completed" and checkpoint_state(run.checkpoint_dir) is None:
        raise RunError(f"run {run.run_id} has no resumable checkpoint, so it cannot be extended")
    recorded = run.status().get("schedule_epochs") or [saved.epochs]
    segments = schedule_segments(recorded, target)
    if target != saved.epochs:
        config = validate(dataclasses.replace(saved, epochs=target))
        run.update_status(epochs=target, schedule_epochs=segments)
        run.write_config(config)
        return config, run, segments
    return saved, run, segments


def start_session(config: TrainConfig, runs_dir: Path, resume: str | None, run_id: str | None,
           epochs: int | None, dist: DistContext, callbacks: TrainCallbacks) -> Session:
    """The session of a run about to train: rank 0 checks the inputs and creates (or reopens)
    the run folder, the others join it."""
    error = None
    opened: tuple | None = None
    splits = pool = None
    if dist.is_main:
        try:
            if resume is None:
                splits, pool = _check_inputs(config, callbacks)
                config = resolve_teacher(_with_data_labels(config, splits), runs_dir)
            opened = _open_run(config, runs_dir, resume, run_id, epochs)
        except LorasentError as exc:
            error = str(exc)
    shared = dist.broadcast((error, str(opened[1].path) if opened else None,
                             opened[0].to_dict() if opened else None, opened[2] if opened else None))
    if shared[0] is not None:
        raise RunError(shared[0])
    if opened is None:
        from lorasent_tui.core.config import config_from_dict

        opened = (config_from_dict(shared[2]), Run(Path(shared[1])), shared[3])
    config, run, segments = opened
    return Session(config=config, run=run, device=None, dist=dist, splits=splits,
                   unlabeled_texts=pool, schedule_epochs=list(segments))
