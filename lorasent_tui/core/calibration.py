"""Calibration: how far a model's confidence is from its accuracy, and temperature scaling.

Expected calibration error (ECE) is the top-label ECE of Guo et al. (2017, "On Calibration of
Modern Neural Networks"): each text's confidence is its largest class probability, the texts
are grouped into ``ECE_BINS`` equal-width confidence bins over [0, 1] (bin m holds confidences in
((m-1)/M, m/M], the first also 0), and ECE is the mean over bins, weighted by their share of
texts, of |accuracy in the bin - mean confidence in the bin|. For binary runs the predicted
class is the more probable one here: ECE measures the probabilities, not a decision threshold.

Temperature scaling divides a text's class log-probabilities by one number T fitted on the
validation predictions (the T that minimises their negative log-likelihood); T > 1 softens
over-confident probabilities. The ranking of classes, hence accuracy at the most probable
class, is unchanged. For a text read as one view the log-probabilities are the logits up to a
constant, so this is the usual logits / T; a text read as several views (sliding windows) is
scaled after its views are combined, which is what the saved validation predictions hold.

A run keeps its fit in ``calibration.json``; core/predict.py's Predictor applies it.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from lorasent_tui.core.errors import RunError
from lorasent_tui.core.run_setting import RunSetting

ECE_BINS = 15
CALIBRATION_FILE = "calibration.json"
# The temperature search's bounds: far beyond what a fine-tuned classifier needs (about 0.5
# to 5), and kept away from 0, where every probability would become 0 or 1.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
# Saved probabilities may be rounded to 0; their logarithm is floored here instead of -inf.
MIN_PROBABILITY = 1e-12


def class_probabilities(probs: Any) -> np.ndarray:
    """``probs`` as one row of class probabilities per text; a 1-D array is binary P(positive)."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        probs = np.stack([1.0 - probs, probs], axis=1)
    return probs


def log_probabilities(probs: Any) -> np.ndarray:
    return np.log(np.clip(class_probabilities(probs), MIN_PROBABILITY, 1.0))


def reliability_bins(labels: Sequence[int], probs: Any, bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Per confidence bin: its bounds, how many texts, their mean confidence and accuracy
    (None for an empty bin); what a reliability chart draws and what ECE sums."""
    probs = class_probabilities(probs)
    labels = np.asarray(labels, dtype=int)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    out = []
    for m in range(bins):
        members = index == m
        count = int(members.sum())
        out.append({"lower": m / bins, "upper": (m + 1) / bins, "count": count,
                    "confidence": float(confidence[members].mean()) if count else None,
                    "accuracy": float(correct[members].mean()) if count else None})
    return out


def expected_calibration_error(labels: Sequence[int], probs: Any, bins: int = ECE_BINS) -> float:
    """Top-label ECE over ``bins`` equal-width confidence bins (see the module's docstring)."""
    total = len(labels)
    if total == 0:
        return 0.0
    return float(sum(b["count"] / total * abs(b["accuracy"] - b["confidence"])
                     for b in reliability_bins(labels, probs, bins) if b["count"]))


def scaled_log_probabilities(log_probs: Any, temperature: float) -> np.ndarray:
    """Class log-probabilities after dividing by ``temperature`` and renormalising."""
    from scipy.special import log_softmax

    return log_softmax(np.asarray(log_probs, dtype=float) / temperature, axis=1)


def scaled_probabilities(probs: Any, temperature: float | None) -> np.ndarray:
    """``probs`` (one row per text) with a temperature applied; unchanged for None."""
    if temperature is None:
        return class_probabilities(probs)
    return np.exp(scaled_log_probabilities(log_probabilities(probs), temperature))


def negative_log_likelihood(labels: Sequence[int], log_probs: Any, temperature: float = 1.0) -> float:
    scaled = scaled_log_probabilities(log_probs, temperature)
    labels = np.asarray(labels, dtype=int)
    return float(-scaled[np.arange(len(labels)), labels].mean())


def fit_temperature(labels: Sequence[int], log_probs: Any) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``: a bounded 1-D
    search over log T (the likelihood is smooth and has one minimum there)."""
    from scipy.optimize import minimize_scalar

    if len(labels) == 0:
        raise RunError("no validation predictions to fit a temperature on")
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(labels, log_probs, math.exp(log_t)),
        bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)), method="bounded",
        options={"xatol": 1e-6})
    return float(math.exp(result.x))


def calibration_report(labels: Sequence[int], probs: Any, temperature: float) -> dict[str, Any]:
    """ECE and NLL of ``probs`` before and after ``temperature``."""
    log_probs = log_probabilities(probs)
    after = np.exp(scaled_log_probabilities(log_probs, temperature))
    return {"ece_before": expected_calibration_error(labels, np.exp(log_probs)),
            "ece_after": expected_calibration_error(labels, after),
            "nll_before": negative_log_likelihood(labels, log_probs),
            "nll_after": negative_log_likelihood(labels, log_probs, temperature)}


# Without the file (or after clear_calibration) a run's probabilities are the model's own.
CALIBRATION = RunSetting(CALIBRATION_FILE, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE,
                         "fit it again with: lorasent-tui calibrate {run}")
read_calibration = CALIBRATION.read
saved_temperature = CALIBRATION.value
write_calibration = CALIBRATION.write
clear_calibration = CALIBRATION.clear
