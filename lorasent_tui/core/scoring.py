"""Scoring labelled texts with a run's best epoch, as ``predict`` reads them: the test split
when a run completes, ``evaluate`` on other data, and the validation predictions kept per run.

One scoring path: ``Predictor.class_probs`` (core/predict.py, long texts as the run's config
says) and ``metrics.classification_metrics``, the metrics validation records.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable, Sequence

from lorasent_tui.core.events import StatusUpdate, TrainCallbacks
from lorasent_tui.core.predict import Predictor, load_trained, run_decision
from lorasent_tui.core.results import TEST_DIR, ScoredResult, read_result, write_result
from lorasent_tui.core.session import Session
from lorasent_tui.core.store import Run, now_iso
from lorasent_tui.core.views import texts_scored

Progress = Callable[[int, int], None]  # (texts scored, texts)


class ScoringStopped(Exception):
    """A stop was asked for while a set was being scored; nothing was written."""


def stoppable(on_progress: Progress | None, stop: threading.Event | None) -> Progress:
    """``on_progress`` that first raises ScoringStopped once ``stop`` is set, unless the scoring
    is done (``texts_done == texts``): a stop asked for at the last batch lets it finish."""
    def progress(done: int, total: int) -> None:
        if done < total and stop is not None and stop.is_set():
            raise ScoringStopped
        if on_progress is not None:
            on_progress(done, total)

    return progress


def run_predictor(run: Run, device: Any = "cpu", decision: bool = True) -> Predictor:
    """The run's best epoch, merged, on ``device``, reading texts as the run's config says;
    with the run's calibration and decision threshold as ``predict`` applies them, unless
    ``decision`` is False: the test split keeps the model's own probabilities, as validation
    does, and core/decision.py applies them to both."""
    model, tokenizer = load_trained(run)
    return Predictor(model.to(device), tokenizer, run.config(), run.run_id, device,
                     **(run_decision(run) if decision else {}))


def score_labelled(predictor: Predictor, texts: Sequence[str], labels: Sequence[int],
                   on_progress: Progress | None = None) -> tuple[dict, dict, Any]:
    """Metrics (with the mean per-example ``loss``), ROC and the ``PredictionSet`` of ``texts``."""
    import numpy as np

    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.predictions import prediction_set

    total = len(texts)

    def on_batch(views_done: int, views: int) -> None:
        # Reported in texts; views (windows of long texts) advance it evenly.
        if on_progress is not None:
            on_progress(texts_scored(views_done, views, total), total)

    if on_progress is not None:
        on_progress(0, total)
    probs = np.asarray(predictor.class_probs(texts, predictor.config.eval_batch_size, on_batch),
                       dtype=float)
    names = predictor.label_names
    predictions = prediction_set(range(total), labels, probs, names, texts)
    metrics, roc = classification_metrics(labels, probs, names, threshold=predictor.threshold)
    return {**metrics, "loss": float(predictions.loss.mean())}, roc, predictions


def keep_validation_predictions(session: Session) -> None:
    """The best epoch's validation predictions, ``predictions.jsonl`` in the run folder
    (replaced whole whenever the best epoch changes)."""
    from lorasent_tui.core.predictions import PREDICTIONS_FILE, prediction_set, write_predictions

    if session.eval_probs is None:
        return
    kept = prediction_set(range(len(session.eval_labels)), session.eval_labels, session.eval_probs,
                          session.label_names, session.eval_texts)
    write_predictions(session.run.path / PREDICTIONS_FILE, kept)


def score_test(session: Session, callbacks: TrainCallbacks,
               stop: threading.Event) -> ScoredResult | None:
    """Score the best epoch's adapter once on the run's test split, into ``test/``.

    Called when a run completes; a stop asked for meanwhile skips it (None, nothing written).
    """
    texts, labels, best = session.test_texts, session.test_labels, session.best_epoch
    if not texts or best is None:
        return None
    run = session.run
    callbacks.on_status(StatusUpdate(f"testing the best epoch ({best}) on {len(texts):,} test "
                                     "reviews", run.run_id))
    predictor = run_predictor(run, session.device, decision=False)
    at_end = session.progress(session.config.epochs)

    def on_progress(done: int, total: int) -> None:
        # Rank 0 alone scores: session.stop_requested would wait for the other ranks.
        if done < total and (stop.is_set() or run.stop_file.exists()):
            raise ScoringStopped
        callbacks.on_progress(dataclasses.replace(at_end, phase="test", eval_done=done,
                                                  eval_total=total, eta=None))

    try:
        metrics, roc, predictions = score_labelled(predictor, texts, labels, on_progress)
    except ScoringStopped:
        return None
    meta = {"kind": "test", "name": "test", "dataset": session.config.dataset, "split": "test",
            "size": len(texts), "excluded": 0, "date": now_iso(), "best_epoch": best}
    write_result(run.path / TEST_DIR, metrics, roc, predictions, meta)
    return read_result(run.path / TEST_DIR)
