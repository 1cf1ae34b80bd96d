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

from lorasent_tui.core.allocator import reuse_freed_memory
from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.decision import decide_after_training
from lorasent_tui.core.distributed import DistContext, init_distributed
from lorasent_tui.core.errors import LorasentError, describe_exception
from lorasent_tui.core.eta import WorkEstimate
from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      TrainCallbacks, combine_callbacks)
from lorasent_tui.core.evaluation import evaluate, evaluation_title
from lorasent_tui.core.gcfreeze import freeze_long_lived
from lorasent_tui.core.lora_forward import fused_lora_forward
from lorasent_tui.core.metrics import preload as preload_metrics
from lorasent_tui.core.precision import bf16_frozen_bases, resolve_precision
from lorasent_tui.core.pseudo_labels import PseudoLabels, pseudo_batches, pseudo_loss, relabel, teach
from lorasent_tui.core.pseudo_labels import record as pseudo_record
from lorasent_tui.core.records import is_better
from lorasent_tui.core.run_start import start_session
from lorasent_tui.core.scoring import keep_validation_predictions, score_test
from lorasent_tui.core.session import (Session, autocast, batch_logits, build_optimizer,
                                       cache_frozen_layers, pick_device, prepare_data, prepare_model,
                                       skip_lora_input_casts, training_attention, use_attention)
from lorasent_tui.core.store import Run, now_iso


def _restore(session: Session) -> None:
    """Continue after the last complete checkpoint; later epochs' records are dropped."""
    from lorasent_tui.core.checkpoint import checkpoint_state, load_checkpoint

    if checkpoint_state(session.run.checkpoint_dir) is None:
        if session.dist.is_main:
            session.run.truncate_to_epoch(0)
        return
    meta = load_checkpoint(session.run.checkpoint_dir, session.model, session.optimizer, session.scheduler,
                           session.average)
    # The saved learning rate is that of the schedule the run had; an extended run's next
    # step follows its new segment (for a plain resume this recomputes the same value).
    scheduler = session.scheduler
    for group, base, factor in zip(session.optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * factor(scheduler.last_epoch)
    if session.pseudo is not None:
        session.pseudo = PseudoLabels.from_state(meta.get("pseudo"))
    session.start_epoch = meta["epoch"] + 1
    session.global_step = meta["global_step"]
    session.best_epoch = meta["best_epoch"]
    session.epoch_times = meta.get("epoch_times", [])
    session.history = [r for r in session.run.metrics() if r["epoch"] <= meta["epoch"]]
    if session.dist.is_main:
        session.run.truncate_to_epoch(meta["epoch"])


def _train_epoch(session: Session, epoch: int, callbacks: TrainCallbacks,
                 stop: threading.Event) -> float | None:
    """One pass over the training data; the mean loss, or None when stopped midway."""
    from lorasent_tui.core.batching import bucketed_batches

    cfg = session.config
    session.model.train()
    use_attention(session, training_attention(session))
    lengths = [len(ids) for ids in session.train_ids]
    every_batch = bucketed_batches(lengths, cfg.batch_size, cfg.seed + epoch, cfg.length_bucketing)
    batches = session.dist.shard(every_batch)
    count = len(session.pseudo.index) if session.pseudo is not None else 0
    session.estimate.start_epoch(epoch, pseudo=count > 0)
    pseudo = session.dist.shard(pseudo_batches(count, len(every_batch), cfg.batch_size * cfg.unlabeled_ratio,
                                               cfg.seed, epoch))
    with bf16_frozen_bases(session.model, session.precision):
        return _train_steps(session, epoch, batches, pseudo, callbacks, stop)


def _train_steps(session: Session, epoch: int, batches: list, pseudo: list, callbacks: TrainCallbacks,
                 stop: threading.Event) -> float | None:
    """The epoch's ``batches`` (and pseudo-labelled ``pseudo`` ones), as ``_train_epoch`` returns."""
    import torch
    import torch.nn.functional as F

    trainable = [p for p in session.model.parameters() if p.requires_grad]
    labels_all = torch.tensor(session.train_labels, dtype=torch.long)
    total_loss = torch.zeros((), device=session.device)
    window: list[Any] = []
    last = time.monotonic()
    for step, index in enumerate(batches):
        if session.stop_requested(stop):
            return None
        labels = labels_all[index].to(session.device, non_blocking=True)
        with autocast(session):
            logits = batch_logits(session, index, "train")
            unlabeled_loss = pseudo_loss(session, pseudo[step]) if pseudo else None
        loss = F.cross_entropy(logits.float(), labels, weight=session.class_weights)
        if unlabeled_loss is not None:
            loss = loss + unlabeled_loss
        loss.backward()
        session.dist.average_gradients(trainable)
        session.optimizer.step()
        session.scheduler.step()
        session.optimizer.zero_grad(set_to_none=True)
        if session.average is not None:
            session.average.update()
        session.global_step += 1
        total_loss += loss.detach()
        window.append(loss.detach())
        now = time.monotonic()
        session.estimate.add_training(now - last, 1)
        last = now
        _report_step(session, epoch, window, callbacks)
    return float(total_loss) / max(1, len(batches))


def _report_step(session: Session, epoch: int, window: list, callbacks: TrainCallbacks) -> None:
    cfg = session.config
    step_in_epoch = session.global_step - (epoch - 1) * session.steps_per_epoch
    at_log_step = step_in_epoch % cfg.logging_steps == 0 or step_in_epoch == session.steps_per_epoch
    # Reading a loss value syncs with the GPU, so only logging steps do it.
    loss = None
    if at_log_step:
        loss = float(sum(float(x) for x in window) / len(window))
        window.clear()
    callbacks.on_progress(session.progress(epoch, loss))


def _save_adapter(session: Session) -> None:
    from lorasent_tui.core.fsutil import staged_dir

    with staged_dir(session.run.adapter_dir) as staging, session.averaged():
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
        keep_validation_predictions(session)
    roc_all = {k: v for k, v in run.roc().items() if int(k) < epoch}
    roc_all[str(epoch)] = {**roc, "auc": row["roc_auc"]}
    run.write_metrics(session.history)  # the file's rows, kept in memory: no re-read per epoch
    run.write_roc(roc_all)
    save_checkpoint(run.checkpoint_dir, session.model, session.optimizer, session.scheduler, {
        "epoch": epoch, "global_step": session.global_step, "best_epoch": session.best_epoch,
        "epoch_times": session.epoch_times,
        **({"pseudo": session.pseudo.to_state()} if session.pseudo is not None else {})}, session.average)
    run.update_status(best_epoch=session.best_epoch, epochs_done=epoch, epoch_times=session.epoch_times)
    callbacks.on_epoch(EpochResult(row, roc, is_best, session.best_epoch))


def _run_epochs(session: Session, callbacks: TrainCallbacks, stop: threading.Event) -> str:
    """Train and evaluate the remaining epochs; a stop ends it without recording the epoch
    in progress, so the last recorded epoch stays the resumable one."""
    estimate = session.estimate
    if session.start_epoch == 1:
        started = time.monotonic()
        if not teach(session, callbacks, stop):
            return "stopped"
        if estimate.taught:
            estimate.add_scoring(time.monotonic() - started, estimate.pool_views)
    session.unlabeled_texts = None  # only a teacher reads them; a run resumed past epoch 1 was taught
    for epoch in range(session.start_epoch, session.config.epochs + 1):
        started = time.monotonic()
        train_loss = _train_epoch(session, epoch, callbacks, stop)
        if train_loss is None:
            return "stopped"
        trained = time.monotonic()
        callbacks.on_status(StatusUpdate(evaluation_title(session, epoch), session.run.run_id))
        with session.averaged():
            evaluated = evaluate(session, epoch, train_loss, callbacks, stop)
            if evaluated is None:
                return "stopped"
            evaluated[0].update(pseudo_record(session.pseudo, session.label_names))
            eval_s = time.monotonic() - trained
            estimate.add_scoring(eval_s, estimate.eval_views)
            if not relabel(session, epoch, callbacks, stop):
                return "stopped"
        times = {"epoch": epoch, "train_s": round(trained - started, 3), "eval_s": round(eval_s, 3)}
        if estimate.relabels_after(epoch):
            relabel_s = time.monotonic() - trained - eval_s
            estimate.add_scoring(relabel_s, estimate.pool_views)
            times["relabel_s"] = round(relabel_s, 3)
        session.epoch_times.append(times)
        _record_epoch(session, *evaluated, callbacks)
        if session.stop_requested(stop) and epoch < session.config.epochs:
            return "stopped"
    return "completed"


def _setup(session: Session, callbacks: TrainCallbacks) -> None:
    for phase in (prepare_model, prepare_data, cache_frozen_layers):
        started = time.monotonic()
        phase(session, callbacks)
        session.setup_times[phase.__name__.strip("_")] = round(time.monotonic() - started, 3)
    if session.unlabeled_views is not None:
        session.pseudo = PseudoLabels()  # the first epoch trains on labels alone
    if session.dist.is_main:
        session.run.update_status(setup_times=session.setup_times)
    pool = session.unlabeled_views
    session.estimate = WorkEstimate(session.steps_per_epoch, session.config.epochs,
                                    len(session.eval_ids), session.config.batch_size,
                                    pool_views=len(pool.ids) if pool is not None else 0,
                                    taught=pool is not None and bool(session.config.teacher),
                                    unlabeled_ratio=session.config.unlabeled_ratio)
    build_optimizer(session)
    if session.config.ema_decay:
        from lorasent_tui.core.weight_average import WeightAverage

        session.average = WeightAverage(session.model, session.config.ema_decay)
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
          run_id: str | None = None, epochs: int | None = None) -> RunFinished | RunFailed:
    """Train one run to completion, a stop, or a failure; never raises for user errors.

    ``resume`` continues a stopped, failed or interrupted run with its own config (``config``
    is then not used). With ``epochs`` it also extends the run, completed ones included, to
    that many epochs in total; the added epochs get a fresh learning-rate decay
    (see ``session.lr_schedule``). Bad data or an unknown model fail before a run folder exists.

    Under torchrun every rank calls this; rank 0 alone reports to ``callbacks`` and writes.
    The callbacks are also the supported seam for tests that need to act at a given moment
    (tests/kill_target.py): a StatusUpdate starts each phase, a StepProgress follows every
    training step and precedes every evaluation batch (phase "eval").
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
        session = start_session(config, Path(runs_dir), resume, run_id, epochs, dist, callbacks)
        run = session.run
        if dist.is_main:
            callbacks = combine_callbacks(callbacks, EventLog(run.path / "events.jsonl").callbacks())
        torch.manual_seed(session.config.seed)
        session.device = dist.device(pick_device(session.config.device))
        session.precision = resolve_precision(session.config.precision, session.device)
        if dist.is_main:
            run.update_status(state="running", pid=os.getpid(), host=socket.gethostname(),
                              device=str(session.device), world_size=dist.world, error=None,
                              finished_at=None, precision=session.precision,
                              epochs=session.config.epochs, schedule_epochs=session.schedule_epochs)
        _setup(session, callbacks)
        if resume is not None:
            _restore(session)
        session.estimate.seed(session.epoch_times)
        callbacks.on_status(StatusUpdate("training", run.run_id, str(session.device),
                                         labels=session.label_names))
        session.started = time.monotonic()
        with (skip_lora_input_casts(session), fused_lora_forward(session.model),
              reuse_freed_memory()):
            state = _run_epochs(session, callbacks, stop_event)
        if dist.is_main and state == "completed":
            score_test(session, callbacks, stop_event)
        best = next((r for r in session.history if r["epoch"] == session.best_epoch), None)
        if dist.is_main:
            run.update_status(state=state, finished_at=now_iso())
            if session.best_epoch is not None:
                decide_after_training(run, session.config.calibrate, callbacks)
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
