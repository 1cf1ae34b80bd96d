"""Self-training on unlabeled texts: confidence-thresholded, class-balanced pseudo-labels.

After each epoch but the last, the current model scores the run's unlabeled pool (the same
batched scoring as validation, core/evaluation.py). A text whose top class probability is at
least ``pseudo_threshold`` is confident (the confidence threshold of FixMatch, Sohn et al. 2020);
the most confident ones of each class are kept in the labelled train split's class proportions
(class-balanced self-training, as in Zou et al. 2018), so a model that leans to one class does not
teach itself to lean further: with balanced labels, every class keeps as many as the class with
the fewest confident texts has. Each step of the next epoch then adds ``unlabeled_ratio`` times
as many pseudo-labelled texts as its labelled batch has (FixMatch's mu), their mean loss weighted
by ``unlabeled_weight`` (FixMatch's lambda_u), so an epoch has as many steps (and the
learning-rate schedule stays the same) with or without unlabeled text. The first epoch trains on
labels alone, unless the run has a ``teacher``: a finished run whose best epoch labels the pool
before the first epoch (``teach``), the same rule choosing, so that the run trains on
pseudo-labels from its first step (Noisy Student's teacher and student, Xie et al. 2020); after
that the run relabels with its own model as above.

The teacher labels a text as it is; the student learns that label from a noised copy: a random
crop of at least half its tokens, then each token dropped with probability ``pseudo_noise``
(random deletion, Wei and Zou 2019, "EDA"). Without noise the confident texts are the ones the
model already gets right and their loss is near zero; a noised copy is harder, which is what
makes self-training teach (FixMatch's strong augmentation; Xie et al. 2020, "Self-training with
Noisy Student"). The noise is seeded by the run's seed and step, so a resumed run draws the same.

A selection is saved in the epoch's checkpoint, so a resumed run trains on the same pseudo-labels
as an uninterrupted one; the epoch's metrics row records how many it used, per class.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.errors import RunError
from lorasent_tui.core.events import StatusUpdate, TrainCallbacks

@dataclass
class PseudoLabels:
    """The pseudo-labelled texts one epoch trains on: pool positions and their class ids."""

    index: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)

    def to_state(self) -> dict[str, list[int]]:
        return {"index": list(self.index), "labels": list(self.labels)}

    @classmethod
    def from_state(cls, state: dict | None) -> "PseudoLabels":
        state = state or {}
        return cls([int(i) for i in state.get("index", [])], [int(k) for k in state.get("labels", [])])


def class_quotas(confident: Sequence[int], prior: Sequence[int]) -> list[int]:
    """Pseudo-labels per class: the labelled prior scaled to the most every class can give.

    ``confident[k]`` texts are confident for class k, the train split has ``prior[k]`` rows of
    it. A class the train split has but no text is confident for means no pseudo-labels at all:
    training on the other classes alone would push the model away from it.
    """
    shares = [p / sum(prior) for p in prior]
    scale = min((c / s for c, s in zip(confident, shares) if s > 0), default=0.0)
    return [min(c, int(scale * s + 1e-9)) for c, s in zip(confident, shares)]


def select(probs: np.ndarray, threshold: float, prior: Sequence[int]) -> PseudoLabels:
    """The confident rows of ``probs`` (one row of class probabilities per pool text), the most
    confident first within each class, in the quotas of ``class_quotas``; ties by position."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    confident = confidence >= threshold
    pools = []
    for k in range(len(prior)):
        rows = np.flatnonzero(confident & (labels == k))
        pools.append(rows[np.lexsort((rows, -confidence[rows]))])
    quotas = class_quotas([len(p) for p in pools], prior)
    kept = sorted(int(i) for p, q in zip(pools, quotas) for i in p[:q])
    return PseudoLabels(kept, [int(labels[i]) for i in kept])


def record(selection: PseudoLabels | None, names: Sequence[str]) -> dict[str, Any]:
    """The metrics-row keys of an epoch trained on ``selection`` (None: the run has no pool)."""
    if selection is None:
        return {}
    counts = np.bincount(np.asarray(selection.labels, dtype=np.int64), minlength=len(names))
    return {"pseudo_labels": len(selection.index),
            "pseudo_counts": {name: int(c) for name, c in zip(names, counts.tolist())}}


def describe(row: dict[str, Any]) -> str:
    """One line for an epoch's pseudo-labels ("" for a run without unlabeled text)."""
    if "pseudo_labels" not in row:
        return ""
    counts = row.get("pseudo_counts") or {}
    detail = " / ".join(f"{n:,} {name}" for name, n in counts.items())
    return f"epoch {row['epoch']}: {row['pseudo_labels']:,} pseudo-labels" + (f" ({detail})" if detail else "")


def pseudo_batches(count: int, steps: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """For each of an epoch's ``steps``, the positions (into a selection of ``count``) of its
    pseudo-labelled batch: seeded shuffles, repeated when the selection is smaller than an epoch."""
    if count == 0:
        return []
    rng = np.random.default_rng([seed % 2**32, epoch, 4])
    needed = steps * min(batch_size, count)
    order = np.concatenate([rng.permutation(count) for _ in range(-(-needed // count))])
    width = min(batch_size, count)
    return [order[i * width:(i + 1) * width].tolist() for i in range(steps)]


# A noised copy keeps a contiguous crop of at least this share of a text's tokens.
MIN_CROP = 0.5


def noised_positions(length: int, deletion: float, rng: np.random.Generator) -> list[int]:
    """The token positions a noised copy of a ``length``-token text keeps, in order: the first and
    last (the special tokens) always, a random crop of the others, each then dropped with
    probability ``deletion`` (at least one kept)."""
    inner = length - 2
    if inner <= 0:
        return list(range(length))
    span = max(1, int(inner * rng.uniform(MIN_CROP, 1.0)))
    start = 1 + int(rng.integers(0, inner - span + 1))
    crop = np.arange(start, start + span)
    kept = crop[rng.random(span) >= deletion]
    if kept.size == 0:
        kept = crop[:1]
    return [0, *kept.tolist(), length - 1]


def pseudo_loss(session: Any, positions: list[int]) -> Any:
    """``unlabeled_weight`` times the mean cross-entropy of one pseudo-labelled batch, read
    through noised copies when ``pseudo_noise`` is set."""
    import torch
    import torch.nn.functional as F

    from lorasent_tui.core.session import batch_logits

    cfg = session.config
    selection = session.pseudo
    index = [selection.index[p] for p in positions]
    targets = torch.tensor([selection.labels[p] for p in positions], dtype=torch.long,
                           device=session.device)
    keep = None
    if cfg.pseudo_noise > 0:
        rng = np.random.default_rng([cfg.seed % 2**32, session.global_step, 5])
        keep = [noised_positions(len(session.unlabeled_views.ids[i]), cfg.pseudo_noise, rng) for i in index]
    logits = batch_logits(session, index, "unlabeled", keep)
    return cfg.unlabeled_weight * F.cross_entropy(logits.float(), targets)


def relabel(session: Any, epoch: int, callbacks: TrainCallbacks, stop: threading.Event) -> bool:
    """Score the pool with the model after ``epoch`` and select the next epoch's pseudo-labels;
    False when a stop interrupted it (the selection is then unchanged)."""
    from lorasent_tui.core.evaluation import score_log_probs

    if session.unlabeled_views is None or epoch >= session.config.epochs:
        return True
    texts, views = session.unlabeled_views.count, len(session.unlabeled_views.ids)
    callbacks.on_status(StatusUpdate(f"pseudo-labelling {texts:,} unlabeled texts after epoch {epoch}",
                                     session.run.run_id))

    def before_batch(done: int) -> bool:
        callbacks.on_progress(session.labelling_progress(epoch, done, views))
        return done < views and session.stop_requested(stop)

    scored = score_log_probs(session, session.unlabeled_views, "unlabeled", before_batch)
    if scored is None:
        return False
    session.pseudo = select(scored.exp().numpy(), session.config.pseudo_threshold, session.class_counts)
    return True


def resolve_teacher(config: Any, runs_dir: Path) -> Any:
    """``config`` with its teacher fixed to the run found now: its id when it is in ``runs_dir``,
    else its folder's absolute path, so that ``latest`` names the same run when this one resumes.
    Raises ``RunError`` when that run cannot teach this one (no saved epoch, other classes)."""
    from lorasent_tui.core.labels import run_label_names
    from lorasent_tui.core.store import RunStore

    if not config.teacher:
        return config
    teacher = RunStore(runs_dir).get(config.teacher)
    if teacher.complete_adapter_dir() is None:
        raise RunError(f"teacher run {teacher.run_id} has no saved adapter yet (no finished epoch); "
                       "pass a run with at least one epoch as --teacher")
    theirs, ours = run_label_names(teacher.config().labels), run_label_names(config.labels)
    if theirs != ours:
        raise RunError(f"teacher run {teacher.run_id} predicts {', '.join(theirs)}; this run's classes "
                       f"are {', '.join(ours)}: pass a teacher trained on the same classes")
    inside = teacher.path.resolve().parent == Path(runs_dir).resolve()
    return dataclasses.replace(config, teacher=teacher.run_id if inside else str(teacher.path.resolve()))


def teach(session: Any, callbacks: TrainCallbacks, stop: threading.Event) -> bool:
    """Before the first epoch of a run with a ``teacher``: that run's best epoch scores the
    unlabeled texts, each read as ``predict`` reads it with that run, and ``select`` chooses the
    first epoch's pseudo-labels; False when a stop interrupted it (the selection is then empty)."""
    from lorasent_tui.core.scoring import ScoringStopped, run_predictor
    from lorasent_tui.core.store import RunStore

    cfg, texts = session.config, session.unlabeled_texts
    if not cfg.teacher or not texts:
        return True
    teacher = RunStore(session.run.path.parent).get(cfg.teacher)
    callbacks.on_status(StatusUpdate(f"pseudo-labelling {len(texts):,} unlabeled texts with teacher run "
                                     f"{teacher.run_id}", session.run.run_id))
    predictor = run_predictor(teacher, session.device, decision=False)

    def on_batch(views_done: int, views: int) -> None:
        if views_done < views and session.stop_requested(stop):
            raise ScoringStopped
        callbacks.on_progress(session.labelling_progress(0, views_done, views))

    try:
        probs = predictor.class_probs(texts, cfg.eval_batch_size, on_batch)
    except ScoringStopped:
        return False
    session.pseudo = select(np.asarray(probs), cfg.pseudo_threshold, session.class_counts)
    return True


def card_paragraph(config: Any, rows: Sequence[dict]) -> str:
    """What a run learnt from unlabeled text, for its model card ("" when it had none)."""
    if not getattr(config, "unlabeled", None):
        return ""
    used = "; ".join(describe(row) for row in rows if "pseudo_labels" in row) or "none yet"
    taught = (f" Before the first epoch, teacher run `{config.teacher}` (its best epoch) "
              "pseudo-labelled them the same way, so the run trained on pseudo-labels from its "
              "first step." if getattr(config, "teacher", None) else "")
    noise = config.pseudo_noise
    read = (f" read through a noised copy (a random crop of at least {MIN_CROP:.0%} of the text, "
            f"{noise:.0%} of its tokens then dropped)" if noise > 0 else "")
    return (f"Besides its labelled reviews, the run self-trained on up to {config.unlabeled_size:,} "
            f"unlabeled texts from `{config.unlabeled}` (none of them in the train, validation or test "
            f"split): after each epoch, those the model classified with probability at least "
            f"{config.pseudo_threshold:g} were pseudo-labelled, class-balanced in the labelled "
            f"proportions, and trained on in the next epoch{read}, {config.unlabeled_ratio} for "
            f"each labelled review in a step, with loss weight "
            f"{config.unlabeled_weight:g}.{taught} Pseudo-labels per epoch: {used}. The validation "
            f"metrics above use human labels only.")
