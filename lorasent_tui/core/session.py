"""What one training run holds, and how it is built: device, model with LoRA, data, optimizer."""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.distributed import DistContext
from lorasent_tui.core.errors import RunError
from lorasent_tui.core.events import StatusUpdate, StepProgress, TrainCallbacks
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.store import Run
from lorasent_tui.core.views import texts_scored


@dataclass
class Session:
    """Everything one training run holds while it runs."""

    config: TrainConfig
    run: Run
    device: Any
    dist: DistContext = field(default_factory=DistContext)
    precision: str = "fp32"  # resolved: fp32 or bf16
    model: Any = None
    tokenizer: Any = None
    optimizer: Any = None
    scheduler: Any = None
    train_ids: list = field(default_factory=list)
    train_labels: list = field(default_factory=list)  # with short crops, theirs too
    class_counts: list = field(default_factory=list)  # labelled train reviews per class, crops not counted
    eval_views: Any = None  # views.Views of the validation texts: ids, owner and weight of each view
    eval_labels: list = field(default_factory=list)
    eval_texts: list = field(default_factory=list)  # kept for the best epoch's predictions.jsonl
    eval_probs: Any = None  # the last evaluation's class probabilities, one row per text
    test_texts: list = field(default_factory=list)  # the held-out test split (test_size)
    test_labels: list = field(default_factory=list)
    steps_per_epoch: int = 0
    global_step: int = 0
    start_epoch: int = 1
    best_epoch: int | None = None
    epoch_times: list = field(default_factory=list)
    history: list = field(default_factory=list)  # evaluated rows, kept by every rank
    first_layer: int = 0
    prefix: Any = None  # FrozenPrefix when the frozen lower layers are cached
    setup_times: dict = field(default_factory=dict)
    train_states: list = field(default_factory=list)
    eval_states: list = field(default_factory=list)
    splits: Any = None  # data.Splits loaded before the run folder was created (rank 0)
    # The epoch at which each learning-rate decay ends: the run's own, then one per extension.
    schedule_epochs: list = field(default_factory=list)
    estimate: Any = None  # eta.WorkEstimate, once the data is tokenized
    class_weights: Any = None  # per-class loss weights (a tensor on the device), None: equal
    started: float = 0.0  # time.monotonic() when this process began the epochs
    # The unlabeled pool loaded before the run folder was created (rank 0); after prepare_data,
    # kept only for a teacher run to label (pseudo_labels.teach).
    unlabeled_texts: Any = None
    unlabeled_views: Any = None  # views.Views of the unlabeled pool (one per text); None: no pool
    unlabeled_states: list = field(default_factory=list)
    pseudo: Any = None  # pseudo_labels.PseudoLabels of the epoch in progress; None: no pool
    average: Any = None  # weight_average.WeightAverage when the config's ema_decay is set
    scoring_attention: str = "sdpa"  # the model's own attention implementation (see use_attention)

    @property
    def eval_ids(self) -> list:
        """Every view of every validation text, with special tokens."""
        return self.eval_views.ids if self.eval_views is not None else []

    @property
    def label_names(self) -> tuple[str, ...]:
        return run_label_names(self.config.labels)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def pad_multiple(self) -> int:
        return 8 if self.device.type == "cuda" else 1

    def stop_requested(self, stop: threading.Event) -> bool:
        """Whether a stop was asked for, here or (the stop file) by another process; every rank agrees."""
        return self.dist.any(stop.is_set() or self.run.stop_file.exists())

    def progress(self, epoch: int, loss: float | None = None, eval_views: int | None = None) -> StepProgress:
        """Where the run is; ``eval_views`` (views scored so far) makes it an evaluation's progress."""
        evaluating = eval_views is not None
        fraction, eta = self.estimate.progress(self.global_step,
                                               self.estimate.views_before(epoch) + (eval_views or 0))
        texts, views = len(self.eval_labels), len(self.eval_ids)
        done = texts_scored(eval_views, views, texts) if evaluating else None
        return StepProgress(self.global_step, self.total_steps, epoch, self.config.epochs,
                            time.monotonic() - self.started, eta, loss, str(self.device),
                            phase="eval" if evaluating else "train", fraction=fraction,
                            eval_done=done, eval_total=texts if evaluating else None)

    def labelling_progress(self, epoch: int, views_done: int, views: int) -> StepProgress:
        """Where the run is while the unlabeled pool is pseudo-labelled after ``epoch`` (phase
        "relabel"), or by the teacher before the first epoch (``epoch`` 0, phase "teach"):
        ``views_done`` of the ``views`` it is read as are scored."""
        estimate, texts = self.estimate, self.unlabeled_views.count
        before = estimate.views_before(epoch) + estimate.eval_views if epoch else 0
        fraction, eta = estimate.progress(self.global_step,
                                          before + views_done * estimate.pool_views // max(1, views))
        return StepProgress(self.global_step, self.total_steps, max(epoch, 1), self.config.epochs,
                            time.monotonic() - self.started, eta, None, str(self.device),
                            phase="relabel" if epoch else "teach", fraction=fraction,
                            eval_done=texts_scored(views_done, views, texts), eval_total=texts)


    def averaged(self) -> Any:
        """A block in which the model holds the weights the run evaluates and saves."""
        from contextlib import nullcontext

        return self.average.applied() if self.average is not None else nullcontext()


def pick_device(name: str) -> Any:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RunError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RunError("--device mps was asked for but MPS is not available; use --device cpu")
    return torch.device(name)


def prepare_data(session: Session, callbacks: TrainCallbacks) -> None:
    from lorasent_tui.core.batching import encode_texts
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.views import encode_views, window_layout

    cfg = session.config
    splits = session.splits
    if splits is None:
        callbacks.on_status(StatusUpdate("loading data", session.run.run_id))
        splits = load_splits(cfg)
    pool = session.unlabeled_texts
    if pool is None:
        from lorasent_tui.core.data.unlabeled import unlabeled_pool

        pool = unlabeled_pool(cfg, splits)
    session.splits = None  # the tokenized ids below are what the run keeps
    # A teacher run reads the texts its own way (it may be another model); nothing else does.
    session.unlabeled_texts = pool if cfg.teacher else None
    for warning in splits.warnings:
        callbacks.on_status(StatusUpdate(f"warning: {warning}", session.run.run_id))
    callbacks.on_status(StatusUpdate("tokenizing", session.run.run_id))
    train_texts, train_labels = list(splits.train_texts), list(splits.train_labels)
    session.class_counts = list(splits.class_counts("train").values())
    if cfg.short_crops:
        from lorasent_tui.core.short_crops import short_crops

        crops, crop_labels = short_crops(train_texts, train_labels)
        train_texts, train_labels = train_texts + crops, train_labels + crop_labels
    session.train_ids = encode_texts(session.tokenizer, train_texts, cfg.max_length, cfg.truncation)
    session.eval_views = encode_views(session.tokenizer, splits.eval_texts, cfg.max_length,
                                      cfg.truncation, window_layout(cfg))
    session.train_labels, session.eval_labels = train_labels, list(splits.eval_labels)
    session.eval_texts = list(splits.eval_texts)
    session.test_texts, session.test_labels = list(splits.test_texts), list(splits.test_labels)
    if pool:
        # One truncated view per text: pseudo-labels are chosen and trained on what training reads.
        session.unlabeled_views = encode_views(session.tokenizer, pool, cfg.max_length,
                                               cfg.truncation, None)
    if cfg.class_weights == "balanced":
        import torch

        weights = balanced_class_weights(session.train_labels, len(session.label_names))
        session.class_weights = torch.tensor(weights, dtype=torch.float32, device=session.device)
    batches = math.ceil(len(session.train_ids) / cfg.batch_size)
    session.steps_per_epoch = math.ceil(batches / session.dist.world)


def balanced_class_weights(labels: list[int], n_classes: int) -> list[float]:
    """Inverse class frequency, scaled so that balanced data weighs every class 1 (as in
    scikit-learn's "balanced"); a class the train split lacks gets the weight of one row."""
    counts = [0] * n_classes
    for label in labels:
        counts[label] += 1
    return [len(labels) / (n_classes * max(1, count)) for count in counts]


def prepare_model(session: Session, callbacks: TrainCallbacks) -> None:
    from lorasent_tui.core import models

    cfg = session.config
    callbacks.on_status(StatusUpdate(f"loading model {cfg.model}", session.run.run_id, str(session.device)))
    session.tokenizer = models.load_tokenizer(cfg.model)
    base, head_modules = models.load_classifier(cfg.model, cfg.seed, run_label_names(cfg.labels))
    models.check_max_length(base, cfg.max_length)
    session.first_layer = models.first_adapted_layer(base, cfg.lora_layers)
    session.scoring_attention = base.config._attn_implementation
    session.model = models.build_lora_model(base, cfg, head_modules).to(session.device)


def cache_frozen_layers(session: Session, callbacks: TrainCallbacks) -> None:
    """Run the frozen lower layers once per text when LoRA sits only in the upper ones."""
    from lorasent_tui.core.frozen_prefix import FrozenPrefix, can_cache

    pool = session.unlabeled_views.ids if session.unlabeled_views is not None else []
    lengths = [len(ids) for ids in session.train_ids + session.eval_ids + pool]
    if not can_cache(session.model, session.first_layer, lengths):
        return
    callbacks.on_status(StatusUpdate(f"caching the {session.first_layer} frozen layers", session.run.run_id))
    session.prefix = FrozenPrefix(session.model, session.first_layer)
    pad_id = session.tokenizer.pad_token_id
    batch = session.config.eval_batch_size
    with autocast(session):
        session.train_states = session.prefix.compute(session.train_ids, pad_id, session.device, batch)
        session.eval_states = session.prefix.compute(session.eval_ids, pad_id, session.device, batch)
        if session.unlabeled_views is not None:
            session.unlabeled_states = session.prefix.compute(session.unlabeled_views.ids, pad_id,
                                                              session.device, batch)


def training_attention(session: Session) -> str:
    """The attention implementation of training steps.

    On CPUs in bf16, PyTorch's fused attention kernel (SDPA) has a slow backward: a fast-preset
    step costs 17% more at 256 tokens and half again at 128 than with transformers' eager
    attention (bench/results/attention_speed.json), while SDPA stays the faster forward. So
    training steps there use eager attention, kept in bf16 (core/attention.py), and scoring keeps
    the model's own (what predict uses).
    """
    if session.device.type == "cpu" and session.precision == "bf16":
        from lorasent_tui.core.attention import register

        return register()
    return session.scoring_attention


@contextmanager
def merged_adapters(session: Session) -> Iterator[None]:
    """The LoRA weights merged into the base layers for scoring, as ``predict`` reads a run.

    Unmerged, every adapted layer adds two small products and passes over its activations (in
    fp32, PEFT's dtype): a third of an evaluation's time on a CPU (fast preset, bf16, 256 tokens:
    32 against 21 ms per view on the AMD EPYC of bench/results/time_to_quality_after_auto.json).
    The base weights are restored exactly afterwards (a copy, not a subtraction that would drift);
    the copy is kept in host memory, so that scoring on a GPU does not hold the adapted layers'
    weights twice in its memory.
    """
    import torch
    from peft.tuners.lora import LoraLayer

    tuner = getattr(session.model, "base_model", None)
    layers = [m for m in session.model.modules() if isinstance(m, LoraLayer)]
    if not layers or not hasattr(tuner, "merge_adapter"):
        yield
        return
    saved = [(layer.get_base_layer().weight, layer.get_base_layer().weight.detach().to("cpu", copy=True))
             for layer in layers]
    tuner.merge_adapter()
    try:
        yield
    finally:
        tuner.unmerge_adapter()
        with torch.no_grad():
            for weight, original in saved:
                weight.copy_(original)


def use_attention(session: Session, implementation: str) -> None:
    """Switch the model's attention implementation (a model that cannot switch keeps its own)."""
    base = session.model.get_base_model() if hasattr(session.model, "get_base_model") else session.model
    if base.config._attn_implementation != implementation:
        base.set_attn_implementation(implementation)


def batch_logits(session: Session, index: list[int], split: str,
                 keep: Sequence[Sequence[int]] | None = None) -> Any:
    """Logits for the texts at ``index`` of a split ("train", "eval" or "unlabeled"), through
    the cache when there is one; ``keep``: for each text, the token positions it is read with."""
    from lorasent_tui.core.batching import collate

    if session.prefix is not None:
        states = {"train": session.train_states, "eval": session.eval_states,
                  "unlabeled": session.unlabeled_states}[split]
        rows = [states[i] for i in index]
        if keep is not None:
            rows = [state[list(positions)] for state, positions in zip(rows, keep)]
        return session.prefix.logits(rows, session.device, session.pad_multiple)
    encoded = {"train": session.train_ids, "eval": session.eval_ids,
               "unlabeled": session.unlabeled_views.ids if split == "unlabeled" else []}[split]
    rows = [encoded[i] for i in index]
    if keep is not None:
        rows = [[ids[p] for p in positions] for ids, positions in zip(rows, keep)]
    batch = collate(rows, session.tokenizer.pad_token_id, session.pad_multiple)
    batch = {k: v.to(session.device, non_blocking=True) for k, v in batch.items()}
    return session.model(**batch).logits


def build_optimizer(session: Session) -> None:
    import torch

    cfg = session.config
    head, adapters = [], []
    for name, param in session.model.named_parameters():
        if param.requires_grad:
            (head if "modules_to_save" in name else adapters).append(param)
    groups = [{"params": adapters, "lr": cfg.learning_rate}]
    if head:
        groups.append({"params": head, "lr": cfg.head_learning_rate or cfg.learning_rate})
    fused = session.device.type == "cuda"
    session.optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay, fused=fused)
    segments = session.schedule_epochs or [cfg.epochs]
    schedule = lr_schedule(segments, session.steps_per_epoch, cfg.warmup_ratio)
    session.scheduler = torch.optim.lr_scheduler.LambdaLR(session.optimizer, schedule)


def schedule_segments(recorded: list[int], epochs: int) -> list[int]:
    """The epochs at which the decays of a run of ``epochs`` epochs end, given those recorded.

    ``[3]`` extended to 5 epochs gives ``[3, 5]``; a record longer than the config (a crash
    between writing the two) is cut back, so the result only depends on the epochs trained to.
    """
    return [e for e in recorded if e < epochs] + [epochs]


def lr_schedule(segments: list[int], steps_per_epoch: int, warmup_ratio: float) -> Callable[[int], float]:
    """The learning-rate multiplier after ``step`` optimizer steps.

    Up to the run's original last epoch (``segments[0]``): a linear warmup over ``warmup_ratio``
    of those steps, then a linear decay to zero at that epoch. Each extension
    (``train --resume RUN --epochs N``) adds a segment: the added epochs restart at the base
    learning rate, without warmup, and decay linearly to zero at their last epoch. So epochs
    that were already trained keep exactly the schedule they were trained with.
    """
    bounds = [epoch * steps_per_epoch for epoch in segments]
    first = max(1, bounds[0])
    warmup = int(warmup_ratio * bounds[0])

    def factor(step: int) -> float:
        if step < bounds[0] or len(bounds) == 1:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (first - step) / max(1, first - warmup))
        for start, end in zip(bounds, bounds[1:]):
            if step < end:
                return (end - step) / max(1, end - start)
        return 0.0

    return factor


def autocast(session: Session) -> Any:
    from lorasent_tui.core.precision import autocast as precision_autocast

    return precision_autocast(session.precision, session.device)


def skip_lora_input_casts(session: Session) -> Any:
    """For a run's steps in bf16: LoRA layers skip peft's cast of their input to the fp32 LoRA
    weights' dtype, a copy of every activation that autocast casts straight back (bf16 to fp32
    to bf16 is exact, so the math is the same). Entered once per run, not per step."""
    from peft.helpers import disable_input_dtype_casting

    return disable_input_dtype_casting(session.model, active=session.precision == "bf16")
