"""The training loop: LoRA fine-tuning with plain callbacks and a stop event.

A short loop of small named helpers (after nanoGPT's train.py) rather than transformers'
Trainer: it needs per-step stop checks, atomic per-epoch checkpoints, length-bucketed
batches and cached tokenization, all of which are simpler to own than to hook into.
"""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.distributed import DistContext, init_distributed
from lorasent_tui.core.errors import LorasentError, RunError, describe_exception
from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      StepProgress, TrainCallbacks, combine_callbacks)
from lorasent_tui.core.gcfreeze import freeze_long_lived
from lorasent_tui.core.metrics import preload as preload_metrics
from lorasent_tui.core.precision import resolve_precision
from lorasent_tui.core.records import is_better
from lorasent_tui.core.session import (Session, autocast, batch_logits, build_optimizer,
                                       cache_frozen_layers, pick_device, prepare_data, prepare_model)
from lorasent_tui.core.store import Run, RunStore, now_iso


def _open_run(config: TrainConfig, runs_dir: Path, resume: str | None,
              run_id: str | None = None) -> tuple[TrainConfig, Run]:
    store = RunStore(runs_dir)
    if resume is None:
        return config, store.create(config, run_id=run_id)
    run = store.get(resume)
    state = run.effective_state()
    if state == "completed":
        raise RunError(f"run {run.run_id} is already completed; nothing to resume")
    if state == "running":
        raise RunError(f"run {run.run_id} is still running (pid {run.status().get('pid')})")
    return run.config(), run


def _restore(session: Session) -> None:
    """Continue after the last complete checkpoint; later epochs' records are dropped."""
    from lorasent_tui.core.checkpoint import checkpoint_state, load_checkpoint

    if checkpoint_state(session.run.checkpoint_dir) is None:
        if session.dist.is_main:
            session.run.truncate_to_epoch(0)
        return
    meta = load_checkpoint(session.run.checkpoint_dir, session.model, session.optimizer, session.scheduler)
    session.start_epoch = meta["epoch"] + 1
    session.global_step = meta["global_step"]
    session.best_epoch = meta["best_epoch"]
    session.epoch_times = meta.get("epoch_times", [])
    session.history = [r for r in session.run.metrics() if r["epoch"] <= meta["epoch"]]
    if session.dist.is_main:
        session.run.truncate_to_epoch(meta["epoch"])


def _train_epoch(session: Session, epoch: int, callbacks: TrainCallbacks, stop: threading.Event,
                 clock: dict) -> float | None:
    """One pass over the training data; the mean loss, or None when stopped midway."""
    import torch
    import torch.nn.functional as F

    from lorasent_tui.core.batching import bucketed_batches

    cfg = session.config
    session.model.train()
    lengths = [len(ids) for ids in session.train_ids]
    batches = session.dist.shard(bucketed_batches(lengths, cfg.batch_size, cfg.seed + epoch,
                                                  cfg.length_bucketing))
    trainable = [p for p in session.model.parameters() if p.requires_grad]
    labels_all = torch.tensor(session.train_labels, dtype=torch.long)
    total_loss = torch.zeros((), device=session.device)
    window: list[Any] = []
    for index in batches:
        if _stop_requested(session, stop):
            return None
        labels = labels_all[index].to(session.device, non_blocking=True)
        with autocast(session):
            logits = batch_logits(session, index, "train")
        loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        session.dist.average_gradients(trainable)
        session.optimizer.step()
        session.scheduler.step()
        session.optimizer.zero_grad(set_to_none=True)
        session.global_step += 1
        total_loss += loss.detach()
        window.append(loss.detach())
        _report_step(session, epoch, window, callbacks, clock)
    return float(total_loss) / max(1, len(batches))


def _stop_requested(session: Session, stop: threading.Event) -> bool:
    requested = stop.is_set() or session.run.stop_file.exists()
    return session.dist.any(requested)


def _report_step(session: Session, epoch: int, window: list, callbacks: TrainCallbacks, clock: dict) -> None:
    cfg = session.config
    step_in_epoch = session.global_step - (epoch - 1) * session.steps_per_epoch
    at_log_step = step_in_epoch % cfg.logging_steps == 0 or step_in_epoch == session.steps_per_epoch
    # Reading a loss value syncs with the GPU, so only logging steps do it.
    loss = None
    if at_log_step:
        loss = float(sum(float(x) for x in window) / len(window))
        window.clear()
    elapsed = time.monotonic() - clock["start"]
    done = session.global_step - clock["first_step"]
    remaining = session.total_steps - session.global_step
    eta = elapsed / done * remaining if done else None
    callbacks.on_progress(StepProgress(session.global_step, session.total_steps, epoch, cfg.epochs,
                                       elapsed, eta, loss, str(session.device)))


def _eval_probs(session: Session, report: Any = None) -> tuple[list[float], float]:
    """Validation probabilities and mean loss, longest views first in large batches.

    ``report(done, total)`` hears how many views are scored, a few times per evaluation.
    """
    import torch
    import torch.nn.functional as F

    from lorasent_tui.core.batching import sorted_batches
    from lorasent_tui.core.views import combine_log_probs

    session.model.eval()
    logits = torch.zeros((len(session.eval_ids), 2))
    batches = sorted_batches([len(ids) for ids in session.eval_ids], session.config.eval_batch_size)
    done, every = 0, max(1, len(batches) // 10)
    with torch.inference_mode(), autocast(session):
        for number, index in enumerate(batches, 1):
            logits[index] = batch_logits(session, index, "eval").float().cpu()
            done += len(index)
            if report is not None and (number % every == 0 or number == len(batches)):
                report(done, len(session.eval_ids))
    log_probs = combine_log_probs(logits, session.eval_views)
    loss = F.nll_loss(log_probs, torch.tensor(session.eval_labels), reduction="mean")
    return log_probs[:, 1].exp().tolist(), float(loss)


def _evaluate(session: Session, epoch: int, train_loss: float, callbacks: TrainCallbacks) -> tuple[dict, dict]:
    from lorasent_tui.core.metrics import classification_metrics

    def report(done: int, total: int) -> None:
        what = "views" if total != len(session.eval_labels) else "reviews"
        callbacks.on_status(StatusUpdate(f"evaluating epoch {epoch}: {done:,}/{total:,} {what}",
                                         session.run.run_id))

    probs, eval_loss = _eval_probs(session, report)
    metrics, roc = classification_metrics(session.eval_labels, probs)
    row = {"epoch": epoch, "train_loss": train_loss, "eval_loss": eval_loss, **metrics}
    return row, roc


def _save_adapter(session: Session) -> None:
    from lorasent_tui.core.fsutil import staged_dir

    with staged_dir(session.run.adapter_dir) as staging:
        session.model.save_pretrained(staging, safe_serialization=True)


def _record_epoch(session: Session, row: dict, roc: dict, callbacks: TrainCallbacks) -> None:
    """Persist an evaluated epoch: metrics, ROC, best adapter, then the resumable checkpoint."""
    from lorasent_tui.core.checkpoint import save_checkpoint

    run, epoch = session.run, row["epoch"]
    session.history = [r for r in session.history if r["epoch"] < epoch] + [row]
    best_row = next((r for r in session.history if r["epoch"] == session.best_epoch), None)
    is_best = is_better(row, best_row)
    if is_best:
        session.best_epoch = epoch
    if not session.dist.is_main:
        return  # every rank evaluated the same weights; rank 0 alone writes the run folder
    if is_best:
        _save_adapter(session)
    roc_all = {k: v for k, v in run.roc().items() if int(k) < epoch}
    roc_all[str(epoch)] = {**roc, "auc": row["roc_auc"]}
    run.write_metrics(session.history)  # the file's rows, kept in memory: no re-read per epoch
    run.write_roc(roc_all)
    save_checkpoint(run.checkpoint_dir, session.model, session.optimizer, session.scheduler, {
        "epoch": epoch, "global_step": session.global_step, "best_epoch": session.best_epoch,
        "epoch_times": session.epoch_times})
    run.update_status(best_epoch=session.best_epoch, epochs_done=epoch, epoch_times=session.epoch_times)
    callbacks.on_epoch(EpochResult(row, roc, is_best, session.best_epoch))


def _run_epochs(session: Session, callbacks: TrainCallbacks, stop: threading.Event) -> str:
    clock = {"start": time.monotonic(), "first_step": session.global_step}
    for epoch in range(session.start_epoch, session.config.epochs + 1):
        started = time.monotonic()
        train_loss = _train_epoch(session, epoch, callbacks, stop, clock)
        if train_loss is None:
            return "stopped"
        trained = time.monotonic()
        callbacks.on_status(StatusUpdate(f"evaluating epoch {epoch}", session.run.run_id))
        row, roc = _evaluate(session, epoch, train_loss, callbacks)
        session.epoch_times.append({"epoch": epoch, "train_s": round(trained - started, 3),
                                    "eval_s": round(time.monotonic() - trained, 3)})
        _record_epoch(session, row, roc, callbacks)
        if _stop_requested(session, stop) and epoch < session.config.epochs:
            return "stopped"
    return "completed"


def _start(config: TrainConfig, runs_dir: Path, resume: str | None, run_id: str | None,
           dist: DistContext) -> tuple[TrainConfig, Run]:
    """Rank 0 creates or reopens the run folder; the other ranks join the same one."""
    error = None
    config_run: tuple | None = None
    if dist.is_main:
        try:
            config_run = _open_run(config, runs_dir, resume, run_id)
        except LorasentError as exc:
            error = str(exc)
    shared = dist.broadcast((error, str(config_run[1].path) if config_run else None,
                             config_run[0].to_dict() if config_run else None))
    if shared[0] is not None:
        raise RunError(shared[0])
    if config_run is None:
        from lorasent_tui.core.config import config_from_dict

        config_run = (config_from_dict(shared[2]), Run(Path(shared[1])))
    return config_run


def _setup(session: Session, callbacks: TrainCallbacks) -> None:
    for phase in (prepare_model, prepare_data, cache_frozen_layers):
        started = time.monotonic()
        phase(session, callbacks)
        session.setup_times[phase.__name__.strip("_")] = round(time.monotonic() - started, 3)
    if session.dist.is_main:
        session.run.update_status(setup_times=session.setup_times)
    build_optimizer(session)
    preload_metrics()
    freeze_long_lived()  # unfrozen when the run ends, so its model can be collected


def _write_model_card(run: Run) -> None:
    from lorasent_tui.core.export import write_model_card

    try:
        write_model_card(run)
    except (OSError, LorasentError):
        pass  # the card is a convenience; the run itself is complete


def _fail(run: Run | None, exc: BaseException, dist: DistContext) -> RunFailed:
    message = describe_exception(exc)
    if run is not None and dist.is_main:
        try:
            state = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
            run.update_status(state=state, error=message, finished_at=now_iso())
        except OSError:
            pass
    return RunFailed(message, run.run_id if run else None, str(run.path) if run else None,
                     user_error=isinstance(exc, LorasentError))


def train(config: TrainConfig, *, runs_dir: Path, callbacks: TrainCallbacks | None = None,
          stop_event: threading.Event | None = None, resume: str | None = None,
          run_id: str | None = None) -> RunFinished | RunFailed:
    """Train one run to completion, a stop, or a failure; never raises for user errors.

    Under torchrun every rank calls this; rank 0 alone reports to ``callbacks`` and writes.
    """
    from lorasent_tui.core.eventlog import EventLog

    callbacks = callbacks or TrainCallbacks()
    stop_event = stop_event or threading.Event()
    run: Run | None = None
    dist = DistContext()
    try:
        import torch

        dist = init_distributed()
        if not dist.is_main:
            callbacks = TrainCallbacks()
        config, run = _start(config, Path(runs_dir), resume, run_id, dist)
        if dist.is_main:
            callbacks = combine_callbacks(callbacks, EventLog(run.path / "events.jsonl").callbacks())
        torch.manual_seed(config.seed)
        device = dist.device(pick_device(config.device))
        if dist.is_main:
            run.update_status(state="running", pid=os.getpid(), host=socket.gethostname(),
                              device=str(device), world_size=dist.world, error=None, finished_at=None,
                              precision=resolve_precision(config.precision, device))
        session = Session(config=config, run=run, device=device, dist=dist,
                          precision=resolve_precision(config.precision, device))
        _setup(session, callbacks)
        if resume is not None:
            _restore(session)
        callbacks.on_status(StatusUpdate("training", run.run_id, str(device)))
        state = _run_epochs(session, callbacks, stop_event)
        best = next((r for r in session.history if r["epoch"] == session.best_epoch), None)
        if dist.is_main:
            run.update_status(state=state, finished_at=now_iso())
            _write_model_card(run)
        result = RunFinished(run.run_id, str(run.path), state, session.best_epoch, best)
        callbacks.on_finished(result)
        return result
    except BaseException as exc:  # noqa: BLE001 - reported, not raised: the UI stays usable
        failed = _fail(run, exc, dist)
        callbacks.on_failed(failed)
        if isinstance(exc, KeyboardInterrupt):
            raise
        return failed
    finally:
        gc.unfreeze()  # the run's objects may be collected again once it is over
