"""Calibration: ECE by hand, reliability bins, a temperature fit that recovers a planted one."""

from __future__ import annotations

import numpy as np
import pytest

from lorasent_tui.core.calibration import (ECE_BINS, calibration_report, expected_calibration_error,
                                           fit_temperature, reliability_bins, scaled_probabilities)


def test_ece_matches_a_hand_computed_example():
    labels = [0, 2, 2]
    probs = [[0.70, 0.20, 0.10],   # confidence 0.70, right: bin 10 of 15 ((10/15, 11/15])
             [0.10, 0.72, 0.18],   # confidence 0.72, wrong: bin 10 too
             [0.19, 0.19, 0.62]]   # confidence 0.62, right: bin 9
    # bin 10: 2 of 3 texts, accuracy 0.5 against confidence 0.71; bin 9: 1 of 3, 1 against 0.62
    expected = 2 / 3 * abs(0.5 - 0.71) + 1 / 3 * abs(1 - 0.62)
    assert expected_calibration_error(labels, probs) == pytest.approx(expected)
    bins = reliability_bins(labels, probs)
    assert len(bins) == ECE_BINS and [b["count"] for b in bins].count(0) == ECE_BINS - 2
    assert bins[10]["count"] == 2 and bins[10]["accuracy"] == 0.5
    assert bins[10]["confidence"] == pytest.approx(0.71) and bins[9]["confidence"] == pytest.approx(0.62)


def test_binary_ece_reads_p_positive_as_two_classes():
    labels = [1, 0, 0, 1]
    scores = [0.95, 0.75, 0.35, 0.55]  # confidences 0.95, 0.75, 0.65, 0.55, each in its own bin
    expected = (abs(1 - 0.95) + abs(0 - 0.75) + abs(1 - 0.65) + abs(1 - 0.55)) / 4
    assert expected_calibration_error(labels, scores) == pytest.approx(expected)
    two_columns = [[1 - p, p] for p in scores]
    assert expected_calibration_error(labels, two_columns) == pytest.approx(expected)


def test_a_perfectly_calibrated_sample_has_a_small_ece():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1, 40_000)
    labels = (rng.random(40_000) < confidence).astype(int)  # P(positive) is exactly right
    assert expected_calibration_error(labels, confidence) < 0.01


@pytest.mark.parametrize("planted", [0.5, 2.5])
def test_temperature_fit_recovers_a_planted_temperature(planted):
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 2, (20_000, 3))
    probs = np.exp(true_logits) / np.exp(true_logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in probs])
    logits = true_logits * planted  # what an over- (or under-) confident model outputs
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    temperature = fit_temperature(labels, log_probs)
    assert temperature == pytest.approx(planted, rel=0.05)
    report = calibration_report(labels, np.exp(log_probs), temperature)
    assert report["nll_after"] < report["nll_before"] and report["ece_after"] < report["ece_before"]
    assert report["ece_after"] < 0.02


def test_a_temperature_keeps_the_ranking_and_sums_to_one():
    probs = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]])
    scaled = scaled_probabilities(probs, 2.0)
    assert scaled.sum(axis=1) == pytest.approx([1, 1])
    assert (scaled.argmax(axis=1) == probs.argmax(axis=1)).all() and scaled.max() < probs.max()
    assert scaled_probabilities(probs, None) == pytest.approx(probs)


def test_calibrate_command_fits_saves_and_keeps_the_threshold_decisions(tmp_path, capsys):
    import json

    from lorasent_tui.cli import main
    from lorasent_tui.core.calibration import read_calibration
    from lorasent_tui.core.threshold import read_threshold
    from tests.test_threshold import fake_binary_run

    run = fake_binary_run(tmp_path)  # its validation probabilities are over-confident about 3x
    assert main(["threshold", "binary", "--method", "f1", "--runs-dir", str(tmp_path)]) == 0
    before = read_threshold(run.path)
    capsys.readouterr()  # the threshold command's table
    assert main(["calibrate", "binary", "--json", "--runs-dir", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    fit = read_calibration(run.path)
    assert printed["temperature"] == fit["temperature"]
    assert fit["temperature"] == pytest.approx(3, rel=0.3)
    assert fit["ece_after"] < fit["ece_before"] and fit["nll_after"] < fit["nll_before"]
    assert fit["test"]["ece_after"] < fit["test"]["ece_before"]  # measured on test, not fitted
    after = read_threshold(run.path)
    assert after["temperature"] == fit["temperature"] and after["threshold"] != before["threshold"]
    assert after["validation"] == before["validation"]  # the same texts on each side
    card = (run.path / "README.md").read_text()
    assert "Decision threshold and calibration" in card and f"{fit['temperature']:.3f}" in card

    assert main(["calibrate", "binary", "--clear", "--runs-dir", str(tmp_path)]) == 0
    assert read_calibration(run.path) is None
    assert read_threshold(run.path)["threshold"] == pytest.approx(before["threshold"])


@pytest.mark.slow
def test_train_with_calibrate_fits_on_the_best_epochs_validation_predictions(tiny_model_dir, tmp_path):
    from lorasent_tui.core.calibration import read_calibration
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.events import RunFinished, TrainCallbacks
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train

    statuses = []
    config = build_config({"model": str(tiny_model_dir("bert")), "precision": "fp32",
                           "train_size": 16, "eval_size": 8, "epochs": 1, "max_length": 32,
                           "target_modules": "query,value", "calibrate": True})
    result = train(config, runs_dir=tmp_path, callbacks=TrainCallbacks(
        on_status=lambda event: statuses.append(event.message)))
    assert isinstance(result, RunFinished), result
    run = RunStore(tmp_path).get(result.run_id)
    assert 0 <= run.metrics()[0]["ece"] <= 1  # every epoch's row
    fit = read_calibration(run.path)
    assert fit is not None and fit["epoch"] == 1 and fit["nll_after"] <= fit["nll_before"] + 1e-9
    assert any(message.startswith("calibrated: temperature") for message in statuses)
    assert Predictor.from_run(result.run_id, tmp_path).temperature == fit["temperature"]


def test_a_resumed_runs_calibration_and_threshold_follow_its_new_best_epoch(tmp_path):
    from lorasent_tui.core.calibration import read_calibration
    from lorasent_tui.core.decision import calibrate_run, choose_run_threshold, decide_after_training
    from lorasent_tui.core.events import TrainCallbacks
    from lorasent_tui.core.predictions import PREDICTIONS_FILE, prediction_set, write_predictions
    from lorasent_tui.core.threshold import metrics_at, read_threshold
    from tests.test_threshold import NAMES, fake_binary_run

    run = fake_binary_run(tmp_path, test=False)
    calibrate_run(run)
    choose_run_threshold(run, "f1")
    old_temperature = read_calibration(run.path)["temperature"]
    rng = np.random.default_rng(7)  # a later best epoch: other, less over-confident predictions
    labels = rng.integers(0, 2, 300)
    positive = 1 / (1 + np.exp(-(rng.normal(0, 1.5, 300) + np.where(labels == 1, 1.0, -1.0))))
    write_predictions(run.path / PREDICTIONS_FILE,
                      prediction_set(range(300), labels, np.stack([1 - positive, positive], 1), NAMES))
    messages = []
    decide_after_training(run, False, TrainCallbacks(on_status=lambda e: messages.append(e.message)))
    fit = read_calibration(run.path)
    assert fit["temperature"] != old_temperature and fit["temperature"] == pytest.approx(1, rel=0.3)
    chosen = read_threshold(run.path)
    scores = scaled_probabilities(np.stack([1 - positive, positive], 1), fit["temperature"])[:, 1]
    assert chosen["validation"] == metrics_at(labels, scores, chosen["threshold"], NAMES)
    assert messages and messages[0].startswith("calibrated: temperature")


@pytest.mark.parametrize("content", ['{"temperature": 0}', '{"temperature": true}', '[2.0]', "{not json"])
def test_a_damaged_calibration_file_is_a_one_line_error(tmp_path, content):
    from lorasent_tui.core.calibration import saved_temperature
    from lorasent_tui.core.errors import RunError

    (tmp_path / "calibration.json").write_text(content)
    with pytest.raises(RunError, match=r"calibration.json is damaged; fit it again with: "
                                       rf"lorasent-tui calibrate {tmp_path.name}$"):
        saved_temperature(tmp_path)


def test_a_saved_calibration_reads_back_and_clears(tmp_path):
    from lorasent_tui.core.calibration import clear_calibration, saved_temperature, write_calibration

    (tmp_path / "calibration.json").write_text('{"temperature": 2, "epoch": 1}')
    assert saved_temperature(tmp_path) == 2.0
    write_calibration(tmp_path, {"temperature": 1.5})
    assert saved_temperature(tmp_path) == 1.5
    assert clear_calibration(tmp_path) and not clear_calibration(tmp_path)
    assert saved_temperature(tmp_path) is None
