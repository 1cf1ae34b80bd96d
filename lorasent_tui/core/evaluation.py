"""Scoring the validation texts at the end of an epoch: probabilities, loss, metrics (and
the unlabeled pool's texts, with the same batched scoring: core/pseudo_labels.py).

Long texts may be read as several views (sliding windows); each text's views are scored in
sorted batches and combined (core/views.py). A stop interrupts an evaluation between batches.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from lorasent_tui.core.events import TrainCallbacks
from lorasent_tui.core.session import Session, autocast, batch_logits, merged_adapters, use_attention


def score_log_probs(session: Session, views: Any, split: str,
                    before_batch: Callable[[int], bool]) -> Any | None:
    """Class log-probabilities (one row per text) of a split's ``views`` ("eval" or
    "unlabeled"), longest views first in large batches.

    ``before_batch(views_scored)`` is called before each batch and once at the end; when it
    returns True (a stop was asked for) the scoring ends at once and None is returned.
    """
    import torch

    from lorasent_tui.core.batching import sorted_batches
    from lorasent_tui.core.views import combine_log_probs

    session.model.eval()
    use_attention(session, session.scoring_attention)
    logits = torch.zeros((len(views.ids), len(session.label_names)))
    batches = sorted_batches([len(ids) for ids in views.ids], session.config.eval_batch_size)
    done = 0
    with merged_adapters(session), torch.inference_mode(), autocast(session):
        for index in batches:
            if before_batch(done):
                return None
            logits[index] = batch_logits(session, index, split).float().cpu()
            done += len(index)
    before_batch(done)
    return combine_log_probs(logits, views)


def score_views(session: Session, before_batch: Callable[[int], bool]) -> tuple[Any, float] | None:
    """Validation class probabilities (one row per text) and the mean (unweighted) loss;
    ``before_batch`` as in ``score_log_probs``."""
    import torch
    import torch.nn.functional as F

    log_probs = score_log_probs(session, session.eval_views, "eval", before_batch)
    if log_probs is None:
        return None
    loss = F.nll_loss(log_probs, torch.tensor(session.eval_labels), reduction="mean")
    return log_probs.exp().numpy(), float(loss)


def evaluate(session: Session, epoch: int, train_loss: float, callbacks: TrainCallbacks,
              stop: threading.Event) -> tuple[dict, dict] | None:
    """The epoch's metrics row and ROC, or None when a stop interrupted the evaluation."""
    from lorasent_tui.core.metrics import classification_metrics

    views = len(session.eval_ids)

    def before_batch(done: int) -> bool:
        callbacks.on_progress(session.progress(epoch, eval_views=done))
        return done < views and session.stop_requested(stop)

    scored = score_views(session, before_batch)
    if scored is None:
        return None
    probs, eval_loss = scored
    session.eval_probs = probs  # kept as the validation predictions if this epoch is the best
    metrics, roc = classification_metrics(session.eval_labels, probs, session.label_names)
    row = {"epoch": epoch, "train_loss": train_loss, "eval_loss": eval_loss, **metrics}
    return row, roc


def evaluation_title(session: Session, epoch: int) -> str:
    texts, views = len(session.eval_labels), len(session.eval_ids)
    windows = f" ({views:,} windows)" if views != texts else ""
    return f"evaluating epoch {epoch}: {texts:,} reviews{windows}"
