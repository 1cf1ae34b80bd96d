"""A run's decision settings, chosen from its saved predictions: the temperature that calibrates
its probabilities (core/calibration.py) and a binary run's decision threshold (core/threshold.py).

Both are fitted on the best epoch's validation predictions and only reported on the test
predictions. The saved predictions hold the model's own probabilities, so a calibration is
always fitted afresh from them, and a threshold is chosen on the probabilities as the run's
Predictor gives them (calibrated when the run is). Temperature scaling keeps the order of
P(positive), so after a new calibration the saved threshold is chosen again by its method:
the same texts stay on each side, at the new probability.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lorasent_tui.core.calibration import (calibration_report, clear_calibration, fit_temperature,
                                           log_probabilities, read_calibration, saved_temperature,
                                           scaled_probabilities, write_calibration)
from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.events import StatusUpdate, TrainCallbacks
from lorasent_tui.core.labels import run_label_names
from lorasent_tui.core.predictions import PREDICTIONS_FILE, PredictionSet, read_predictions
from lorasent_tui.core.results import held_out_result
from lorasent_tui.core.store import Run, now_iso
from lorasent_tui.core.threshold import (DEFAULT_MAX_FPR, choose_threshold, metrics_at, read_threshold,
                                         write_threshold)

SPLITS = ("validation", "test")


def saved_predictions(run: Run) -> dict[str, PredictionSet]:
    """The run's saved prediction sets by split ("validation": the best epoch's, "test" when the
    run has a test split); runs trained before predictions were kept have none."""
    found = {}
    for split, path in prediction_files(run).items():
        if path is not None and path.is_file():
            found[split] = read_predictions(path)
    return found


def prediction_files(run: Run) -> dict[str, Path | None]:
    test = held_out_result(run.path)
    return {"validation": run.path / PREDICTIONS_FILE,
            "test": None if test is None else test.predictions_path}


def validation_predictions(run: Run, sets: dict[str, PredictionSet]) -> PredictionSet:
    if "validation" not in sets:
        raise RunError(f"run {run.run_id} has no saved validation predictions (runs trained before "
                       f"they were kept have none); train it again to get them")
    return sets["validation"]


def check_binary(run: Run) -> list[str]:
    names = list(run_label_names(run.config().labels))
    if len(names) != 2:
        raise LorasentError(f"run {run.run_id} has {len(names)} classes; a decision threshold "
                            f"applies to binary runs only")
    return names


def positive_scores(run: Run, predictions: PredictionSet) -> np.ndarray:
    """P(positive) per text as the run's Predictor gives it (with the run's temperature)."""
    return scaled_probabilities(predictions.probs, saved_temperature(run.path))[:, 1]


def threshold_report(run: Run, threshold: float,
                     sets: dict[str, PredictionSet] | None = None) -> dict[str, Any]:
    """The metrics at ``threshold`` on each saved split of a binary run: {split: metrics}."""
    names = check_binary(run)
    sets = saved_predictions(run) if sets is None else sets
    return {split: metrics_at(sets[split].y_true, positive_scores(run, sets[split]), threshold, names)
            for split in SPLITS if split in sets}


def choose_run_threshold(run: Run, method: str, max_fpr: float = DEFAULT_MAX_FPR) -> dict[str, Any]:
    """Choose and save a binary run's threshold; returns what was saved plus the test metrics."""
    names = check_binary(run)
    sets = saved_predictions(run)
    validation = validation_predictions(run, sets)
    value = choose_threshold(validation.y_true, positive_scores(run, validation), method, max_fpr)
    report = threshold_report(run, value, sets)
    saved = {"method": method, "max_fpr": max_fpr if method == "fpr" else None, "threshold": value,
             "positive": names[1], "epoch": run.status().get("best_epoch"),
             "temperature": saved_temperature(run.path), "validation": report["validation"],
             "chosen_at": now_iso()}
    write_threshold(run.path, saved)
    refresh_card(run)
    return {**saved, **report}


def calibrate_run(run: Run) -> dict[str, Any]:
    """Fit and save the run's temperature on its validation predictions; ECE and NLL before and
    after on validation (and on test, not used in the fit). A saved threshold is chosen again."""
    sets = saved_predictions(run)
    validation = validation_predictions(run, sets)
    temperature = fit_temperature(validation.y_true, log_probabilities(validation.probs))
    saved = {"temperature": temperature, "epoch": run.status().get("best_epoch"),
             **calibration_report(validation.y_true, validation.probs, temperature),
             "fitted_at": now_iso()}
    if "test" in sets:
        saved["test"] = calibration_report(sets["test"].y_true, sets["test"].probs, temperature)
    write_calibration(run.path, saved)
    rechoose_threshold(run)
    refresh_card(run)
    return saved


def uncalibrate_run(run: Run) -> bool:
    """Back to the model's own probabilities; whether the run had a calibration."""
    existed = clear_calibration(run.path)
    rechoose_threshold(run)
    refresh_card(run)
    return existed


def rechoose_threshold(run: Run) -> None:
    chosen = read_threshold(run.path)
    if chosen is not None and chosen.get("method") is not None:
        max_fpr = chosen.get("max_fpr")
        choose_run_threshold(run, chosen["method"], DEFAULT_MAX_FPR if max_fpr is None else max_fpr)


def refresh_card(run: Run) -> None:
    """The run's model card states its threshold and calibration (core/export.py)."""
    from lorasent_tui.core.export import write_model_card

    try:
        write_model_card(run)
    except OSError:
        pass  # a read-only run folder keeps its old card; the decision files are written


def decide_after_training(run: Run, calibrate: bool, callbacks: TrainCallbacks) -> None:
    """When training ends: fit the temperature with ``train --calibrate``, or again when the run
    was calibrated before (a resumed run's best epoch may have changed), and choose a saved
    threshold again by its method. Reported as a status; a failure is reported too, and never
    fails the finished run."""
    try:
        if calibrate or read_calibration(run.path) is not None:
            fit = calibrate_run(run)
            callbacks.on_status(StatusUpdate(describe_calibration(fit), run.run_id))
        else:
            rechoose_threshold(run)
    except (LorasentError, OSError) as exc:
        callbacks.on_status(StatusUpdate(f"calibration or threshold not updated: {exc}", run.run_id))


def describe_calibration(fit: dict[str, Any]) -> str:
    line = (f"calibrated: temperature {fit['temperature']:.3f}, validation ECE "
            f"{fit['ece_before']:.4f} -> {fit['ece_after']:.4f}, NLL {fit['nll_before']:.4f} -> "
            f"{fit['nll_after']:.4f}")
    if isinstance(fit.get("test"), dict):
        line += f"; test ECE {fit['test']['ece_before']:.4f} -> {fit['test']['ece_after']:.4f}"
    return line
