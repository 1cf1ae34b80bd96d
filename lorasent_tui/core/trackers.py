"""``--report-to``: experiment trackers (TensorBoard, Weights & Biases, MLflow) as TrainCallbacks.

Usage (what ``commands.cmd_train`` does)::

    trackers = tracker_callbacks(["tensorboard"], runs_dir=args.runs_dir)   # checks now
    callbacks = combine_callbacks(reporter.callbacks(), trackers)
    train(config, runs_dir=..., callbacks=callbacks, ...)

Names are checked before training starts (unknown or not installed: LorasentError). Each
tracker starts on the first event that names the run (the trainer creates the run folder), so
the caller does not need the run beforehand; a given ``run`` is used as is. A tracker that
fails while training logs one warning and is switched off: a tracker never stops a run.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      StepProgress, TrainCallbacks)
from lorasent_tui.core.records import METRIC_COLUMNS, MULTICLASS_METRIC_COLUMNS
from lorasent_tui.core.store import Run

log = logging.getLogger("lorasent_tui.trackers")

# tracker name -> (module that must be importable, pip package)
TRACKERS: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow"),
}
# Those of binary and of multi-class runs; a value a row lacks or leaves undefined is skipped.
EPOCH_KEYS = tuple(dict.fromkeys(c.key for c in METRIC_COLUMNS + MULTICLASS_METRIC_COLUMNS))


def installed(name: str) -> bool:
    module = TRACKERS[name][0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def parse_report_to(names: str | Iterable[str] | None) -> list[str]:
    """Tracker names from ``--report-to`` values ("tensorboard,wandb", repeated flags, "all",
    "none"); raises LorasentError for an unknown or uninstalled one."""
    if names is None:
        return []
    items = [names] if isinstance(names, str) else list(names)
    wanted: list[str] = []
    for item in items:
        for name in str(item).replace(";", ",").split(","):
            name = name.strip().lower()
            if name and name not in wanted:
                wanted.append(name)
    if "none" in wanted:
        if len(wanted) > 1:
            raise LorasentError("--report-to none cannot be combined with a tracker")
        return []
    if "all" in wanted:
        return [name for name in TRACKERS if installed(name)]
    for name in wanted:
        if name not in TRACKERS:
            raise LorasentError(f"--report-to {name}: unknown tracker; choose from "
                                f"{', '.join(TRACKERS)}, all or none")
        if not installed(name):
            package = TRACKERS[name][1]
            raise LorasentError(f"--report-to {name}: the {package} package is not installed; "
                                f"pip install {package}")
    return wanted


# -- the trackers ------------------------------------------------------------------------------


def _flat_config(config: Any) -> dict[str, Any]:
    return {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else ("" if v is None else v))
            for k, v in config.to_dict().items()}


class Tracker:
    """One tracker's hooks; the subclasses talk to one library each."""

    name = ""

    def __init__(self, run: Run, config: Any):
        self.run, self.config = run, config

    def step(self, step: int, loss: float) -> None: ...

    def epoch(self, step: int, event: EpochResult) -> None: ...

    def finish(self, state: str, best_epoch: int | None, best: dict | None) -> None: ...


class TensorBoardTracker(Tracker):
    """Event files in ``<run>/tensorboard/``: ``tensorboard --logdir runs``."""

    name = "tensorboard"

    def __init__(self, run: Run, config: Any):
        super().__init__(run, config)
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = run.path / "tensorboard"
        self.writer = SummaryWriter(log_dir=str(self.logdir))
        table = "\n".join(f"| {k} | {v} |" for k, v in _flat_config(config).items())
        self.writer.add_text("config", "| setting | value |\n| --- | --- |\n" + table)

    def step(self, step: int, loss: float) -> None:
        self.writer.add_scalar("train/loss_step", loss, step)

    def epoch(self, step: int, event: EpochResult) -> None:
        m, epoch = event.metrics, int(event.metrics["epoch"])
        for key in EPOCH_KEYS:
            if m.get(key) is not None:
                self.writer.add_scalar(f"epoch/{key}", m[key], epoch)
        self.writer.flush()

    def finish(self, state: str, best_epoch: int | None, best: dict | None) -> None:
        self.writer.add_text("result", f"{state}, best epoch {best_epoch}")
        self.writer.close()


def _wandb_id(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", run_id)[:64]


class WandbTracker(Tracker):
    """A W&B run named and keyed by the run id (a resumed run continues it). Project from
    ``WANDB_PROJECT`` (default lorasent-tui); ``WANDB_MODE=offline`` works without network."""

    name = "wandb"

    def __init__(self, run: Run, config: Any):
        super().__init__(run, config)
        import wandb

        self.wandb = wandb
        kwargs = dict(project=os.environ.get("WANDB_PROJECT", "lorasent-tui"), name=run.run_id,
                      id=_wandb_id(run.run_id), resume="allow", config=config.to_dict(),
                      dir=str(run.path))
        try:  # wandb >= 0.19: a new run beside any other active one (the TUI trains many)
            self.wb = wandb.init(reinit="create_new", **kwargs)
        except (TypeError, ValueError):  # older wandb: reinit is a bool
            self.wb = wandb.init(reinit=True, **kwargs)
        self.wb.define_metric("epoch")
        self.wb.define_metric("epoch/*", step_metric="epoch")

    def step(self, step: int, loss: float) -> None:
        self.wb.log({"train/loss_step": loss, "train/global_step": step})

    def epoch(self, step: int, event: EpochResult) -> None:
        m = event.metrics
        self.wb.log({"epoch": int(m["epoch"]),
                     **{f"epoch/{k}": m[k] for k in EPOCH_KEYS if m.get(k) is not None}})

    def finish(self, state: str, best_epoch: int | None, best: dict | None) -> None:
        self.wb.summary["state"] = state
        self.wb.summary["best_epoch"] = best_epoch
        for key, value in (best or {}).items():
            if value is not None:
                self.wb.summary[f"best/{key}"] = value
        self.wb.finish(exit_code=0 if state in ("completed", "stopped") else 1)


class MlflowTracker(Tracker):
    """An MLflow run in experiment ``MLFLOW_EXPERIMENT_NAME`` (default lorasent-tui) at
    ``MLFLOW_TRACKING_URI`` (MLflow's default store when unset); no global active run is used."""

    name = "mlflow"
    _STATUS = {"completed": "FINISHED", "stopped": "KILLED", "failed": "FAILED"}

    def __init__(self, run: Run, config: Any):
        super().__init__(run, config)
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()
        experiment_name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "lorasent-tui")
        experiment = self.client.get_experiment_by_name(experiment_name)
        experiment_id = (experiment.experiment_id if experiment is not None
                         else self.client.create_experiment(experiment_name))
        self.mlrun_id = self.client.create_run(
            experiment_id, run_name=run.run_id,
            tags={"lorasent.run_id": run.run_id, "lorasent.run_dir": str(run.path.resolve())}).info.run_id
        for key, value in _flat_config(config).items():
            self.client.log_param(self.mlrun_id, key, str(value)[:500])

    def step(self, step: int, loss: float) -> None:
        self.client.log_metric(self.mlrun_id, "train_loss_step", loss, step=step)

    def epoch(self, step: int, event: EpochResult) -> None:
        m, epoch = event.metrics, int(event.metrics["epoch"])
        for key in EPOCH_KEYS:
            if m.get(key) is not None:
                self.client.log_metric(self.mlrun_id, key, float(m[key]), step=epoch)

    def finish(self, state: str, best_epoch: int | None, best: dict | None) -> None:
        if best_epoch is not None:
            self.client.set_tag(self.mlrun_id, "best_epoch", str(best_epoch))
        self.client.set_terminated(self.mlrun_id, self._STATUS.get(state, "FAILED"))


TRACKER_CLASSES: dict[str, type[Tracker]] = {
    "tensorboard": TensorBoardTracker, "wandb": WandbTracker, "mlflow": MlflowTracker,
}


class _TrackerHub:
    """Starts the chosen trackers once the run is known and forwards the trainer's events."""

    def __init__(self, names: Sequence[str], run: Run | None, config: Any, runs_dir: Path | str):
        self.names = list(names)
        self.run, self.config = run, config
        self.runs_dir = Path(runs_dir)
        self.trackers: list[Tracker] | None = None
        self.last_step = 0

    def _guard(self, tracker: Tracker, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a tracker never stops training
            log.warning("--report-to %s: %s failed (%s: %s); %s logging is off for this run",
                        tracker.name, what, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                        tracker.name)
            if self.trackers and tracker in self.trackers:
                self.trackers.remove(tracker)

    def _start(self, run_id: str | None, run_dir: str | None = None) -> None:
        if self.trackers is not None:
            return
        if self.run is None:
            if run_dir:
                self.run = Run(Path(run_dir))
            elif run_id:
                self.run = Run(self.runs_dir / run_id)
            else:
                return
        self.trackers = []
        try:
            config = self.config if self.config is not None else self.run.config()
        except LorasentError as exc:
            log.warning("--report-to: cannot read the run's config (%s); trackers are off", exc)
            return
        for name in self.names:
            try:
                self.trackers.append(TRACKER_CLASSES[name](self.run, config))
            except Exception as exc:  # noqa: BLE001
                log.warning("--report-to %s: could not start (%s: %s); continuing without it",
                            name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")

    def on_status(self, event: StatusUpdate) -> None:
        self._start(event.run_id)

    def on_progress(self, event: StepProgress) -> None:
        self.last_step = event.step
        if event.loss is None or not self.trackers:
            return
        for tracker in list(self.trackers):
            self._guard(tracker, "logging a step", lambda t=tracker: t.step(event.step, event.loss))

    def on_epoch(self, event: EpochResult) -> None:
        for tracker in list(self.trackers or ()):
            self._guard(tracker, "logging an epoch", lambda t=tracker: t.epoch(self.last_step, event))

    def _finish(self, state: str, best_epoch: int | None, best: dict | None) -> None:
        for tracker in list(self.trackers or ()):
            self._guard(tracker, "closing", lambda t=tracker: t.finish(state, best_epoch, best))
        self.trackers = None if self.run is None else []

    def on_finished(self, event: RunFinished) -> None:
        self._start(event.run_id, event.run_dir)
        self._finish(event.state, event.best_epoch, event.best_metrics)

    def on_failed(self, event: RunFailed) -> None:
        self._finish("failed", None, None)


def tracker_callbacks(names: str | Iterable[str] | None, run: Run | None = None, config: Any = None,
                      *, runs_dir: Path | str = "runs") -> TrainCallbacks:
    """TrainCallbacks that report a run to the named trackers.

    ``names`` are checked at once (see ``parse_report_to``). ``run`` and ``config`` may be
    left out: the run is then found from the first event's run id under ``runs_dir``, and the
    config read from it (right for ``--resume`` too). No names: callbacks that do nothing.
    Make one per ``train()`` call: the trackers are closed when that run finishes or fails.
    """
    chosen = parse_report_to(names)
    if not chosen:
        return TrainCallbacks()
    hub = _TrackerHub(chosen, run, config, runs_dir)
    return TrainCallbacks(on_status=hub.on_status, on_progress=hub.on_progress, on_epoch=hub.on_epoch,
                          on_finished=hub.on_finished, on_failed=hub.on_failed)

