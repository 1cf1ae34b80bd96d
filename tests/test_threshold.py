"""Decision threshold of binary runs: the three operating points on hand-made arrays, the
metrics there, and how a run saves and uses its choice."""

from __future__ import annotations

import pytest

from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.metrics import classification_metrics
from lorasent_tui.core.threshold import POINT_KEYS, choose_threshold, metrics_at

NAMES = ["negative", "positive"]
# Sorted by score: .9+ .7+ .6- .55+ .45- .4+ .3- .1-  ("+": positive). Cutting below the k-th:
#   k:   1     2     3     4     5     6     7     8
# TPR: .25   .5    .5    .75   .75   1     1     1
# FPR: 0     0     .25   .25   .5    .5    .75   1
# J:   .25   .5    .25   .5    .25   .5    .25   0      (Youden: k = 2, 4, 6; the first wins)
# F1:  .4    .667  .571  .75   .667  .8    .727  .667   (max F1: k = 6)
LABELS = [0, 0, 0, 0, 1, 1, 1, 1]
SCORES = [0.1, 0.3, 0.45, 0.6, 0.4, 0.55, 0.7, 0.9]


def test_youden_picks_the_highest_of_the_best_j_points():
    threshold = choose_threshold(LABELS, SCORES, "youden")
    assert threshold == pytest.approx((0.7 + 0.6) / 2)
    point = metrics_at(LABELS, SCORES, threshold, NAMES)
    assert point["tpr"] == 0.5 and point["fpr"] == 0.0 and point["precision"] == 1.0


def test_max_f1_picks_the_best_f1_point():
    threshold = choose_threshold(LABELS, SCORES, "f1")
    assert threshold == pytest.approx((0.4 + 0.3) / 2)
    assert metrics_at(LABELS, SCORES, threshold, NAMES)["f1"] == pytest.approx(0.8)


@pytest.mark.parametrize("max_fpr, cut, tpr", [(0.05, (0.7 + 0.6) / 2, 0.5), (0.3, 0.5, 0.75),
                                               (1.0, 0.1, 1.0)])
def test_target_fpr_takes_the_largest_tpr_within_it(max_fpr, cut, tpr):
    threshold = choose_threshold(LABELS, SCORES, "fpr", max_fpr)
    assert threshold == pytest.approx(cut)
    point = metrics_at(LABELS, SCORES, threshold, NAMES)
    assert point["fpr"] <= max_fpr and point["tpr"] == tpr


def test_no_point_within_the_target_predicts_nothing_positive():
    threshold = choose_threshold([1, 0, 1], [0.2, 0.9, 0.1], "fpr", 0.0)
    assert threshold > 0.9
    assert metrics_at([1, 0, 1], [0.2, 0.9, 0.1], threshold, NAMES)["tpr"] == 0.0


def test_metrics_at_a_point_are_those_of_classification_metrics():
    threshold = choose_threshold(LABELS, SCORES, "f1")
    full, _roc = classification_metrics(LABELS, SCORES, NAMES, threshold=threshold)
    assert metrics_at(LABELS, SCORES, threshold, NAMES) == {k: full[k] for k in POINT_KEYS}
    two_columns = [[1 - s, s] for s in SCORES]
    assert metrics_at(LABELS, two_columns, threshold, NAMES) == metrics_at(LABELS, SCORES, threshold, NAMES)


def test_bad_choices_are_one_line_errors():
    with pytest.raises(LorasentError, match="unknown threshold method"):
        choose_threshold(LABELS, SCORES, "best")
    with pytest.raises(LorasentError, match="max-fpr"):
        choose_threshold(LABELS, SCORES, "fpr", 5)
    with pytest.raises(RunError, match="one class"):
        choose_threshold([1, 1], [0.2, 0.8], "f1")


# -- a run's saved threshold and calibration ---------------------------------------------------

TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "ok", "I loved every minute of it!"]


@pytest.fixture(scope="module")
def binary_run(tiny_model_dir, tmp_path_factory):
    """(runs_dir, run_id) of a tiny binary run, trained once for the module."""
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.events import RunFinished
    from lorasent_tui.core.trainer import train

    runs_dir = tmp_path_factory.mktemp("threshold-runs")
    config = build_config({"model": str(tiny_model_dir("bert")), "precision": "fp32",
                           "train_size": 16, "eval_size": 8, "epochs": 1, "max_length": 32,
                           "target_modules": "query,value"})
    result = train(config, runs_dir=runs_dir)
    assert isinstance(result, RunFinished), result
    return runs_dir, result.run_id


def _predict_json(runs_dir, run_id, capsys):
    import json

    from lorasent_tui.cli import main

    assert main(["predict", "--json", "--run", run_id, "--runs-dir", str(runs_dir), *TEXTS]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_predict_honours_the_saved_threshold_and_temperature(binary_run, tmp_path, capsys):
    import json

    import numpy as np

    from lorasent_tui.cli import main
    from lorasent_tui.core.calibration import scaled_probabilities, write_calibration
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.threshold import clear_threshold, write_threshold

    runs_dir, run_id = binary_run
    run = RunStore(runs_dir).get(run_id)
    before = _predict_json(runs_dir, run_id, capsys)  # an old run: neither file
    scores = sorted(answer["score"] for answer in before)
    cut = (scores[1] + scores[2]) / 2  # two texts on each side
    write_threshold(run.path, {"method": "f1", "threshold": cut})
    at_cut = _predict_json(runs_dir, run_id, capsys)
    assert [a["score"] for a in at_cut] == [a["score"] for a in before]  # probabilities unchanged
    assert [a["label"] for a in at_cut] == ["positive" if a["score"] >= cut else "negative"
                                            for a in before]
    assert sorted(a["label"] for a in at_cut) == ["negative", "negative", "positive", "positive"]

    write_calibration(run.path, {"temperature": 4.0})
    calibrated = Predictor.from_run(run_id, runs_dir).predict(TEXTS)
    expected = scaled_probabilities([[a["scores"]["negative"], a["scores"]["positive"]]
                                     for a in before], 4.0)
    assert [p.score for p in calibrated] == pytest.approx(expected[:, 1].tolist(), abs=1e-5)
    assert [p.label for p in calibrated] == [
        "positive" if p >= cut else "negative" for p in expected[:, 1]]
    assert np.ptp(expected[:, 1]) < np.ptp(scores)  # T > 1 softens

    out = tmp_path / "merged"
    assert main(["export", run_id, "--merged", str(out), "--runs-dir", str(runs_dir)]) == 0
    capsys.readouterr()
    exported = json.loads((out / "config.json").read_text())
    assert exported["lorasent_threshold"] == cut and exported["lorasent_temperature"] == 4.0
    card = (out / "README.md").read_text()
    assert f"{cut:.4f}" in card and "A plain `transformers` pipeline does not" in card

    (run.path / "calibration.json").unlink()
    clear_threshold(run.path)
    assert _predict_json(runs_dir, run_id, capsys) == before  # without the files: as before


def test_a_damaged_threshold_file_is_a_one_line_error(tmp_path):
    from lorasent_tui.core.threshold import saved_threshold

    (tmp_path / "threshold.json").write_text('{"threshold": "high"}')
    with pytest.raises(RunError, match="threshold.json is damaged"):
        saved_threshold(tmp_path)
    assert saved_threshold(tmp_path / "elsewhere") is None


def test_a_multi_class_run_has_no_threshold(tmp_path, capsys):
    from lorasent_tui.cli import main
    from tests.test_multiclass_runs import fake_three_class_run

    fake_three_class_run(tmp_path)
    assert main(["threshold", "three", "--method", "f1", "--runs-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "3 classes; a decision threshold applies to binary runs only" in error
    assert len(error.strip().splitlines()) == 1


def fake_binary_run(runs_dir, test=True):
    """A finished binary run folder with saved validation (and test) predictions: no training."""
    import numpy as np

    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.predictions import PREDICTIONS_FILE, prediction_set, write_predictions
    from lorasent_tui.core.results import TEST_DIR, write_result
    from lorasent_tui.core.store import RunStore

    run = RunStore(runs_dir).create(build_config({"epochs": 1}), run_id="binary",
                                    started_at="2025-01-03T10:00:00+00:00")  # fixed for snapshots
    run.update_status(state="completed", best_epoch=1, epochs_done=1)
    rng = np.random.default_rng(3)
    for split, size in (("validation", 400), ("test", 300))[:2 if test else 1]:
        labels = rng.integers(0, 2, size)
        gap = rng.normal(0, 1.5, size) + np.where(labels == 1, 1.0, -1.0)
        positive = 1 / (1 + np.exp(-3 * gap))  # over-confident: its temperature is about 3
        predictions = prediction_set(range(size), labels, np.stack([1 - positive, positive], 1), NAMES)
        if split == "validation":
            write_predictions(run.path / PREDICTIONS_FILE, predictions)
        else:
            metrics, roc = classification_metrics(labels, predictions.probs, NAMES)
            write_result(run.path / TEST_DIR, metrics, roc, predictions,
                         {"kind": "test", "name": "test", "size": size, "best_epoch": 1})
    return run


def test_threshold_command_saves_a_point_whose_metrics_match_the_saved_predictions(tmp_path, capsys):
    import json

    from lorasent_tui.cli import main
    from lorasent_tui.core.decision import prediction_files
    from lorasent_tui.core.predictions import read_predictions
    from lorasent_tui.core.threshold import read_threshold

    run = fake_binary_run(tmp_path)
    assert main(["threshold", "binary", "--method", "fpr", "--max-fpr", "0.1",
                 "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    saved = read_threshold(run.path)
    assert saved["method"] == "fpr" and saved["max_fpr"] == 0.1 and saved["epoch"] == 1
    for split in ("validation", "test"):
        predictions = read_predictions(prediction_files(run)[split])
        recomputed, _ = classification_metrics(predictions.y_true, predictions.probs, NAMES,
                                               threshold=saved["threshold"])
        if split == "validation":
            assert saved["validation"] == {key: recomputed[key] for key in POINT_KEYS}
            assert recomputed["fpr"] <= 0.1
        row = next(line for line in out.splitlines() if line.startswith(split)).split()
        assert row[1:] == [f"{recomputed[key]:.4f}" for key in POINT_KEYS]
    assert f"threshold {saved['threshold']:.4f} (FPR ≤ 10%)" in out

    assert main(["threshold", "binary", "--json", "--runs-dir", str(tmp_path)]) == 0  # shows it
    shown = json.loads(capsys.readouterr().out)
    assert shown["threshold"] == saved["threshold"] and shown["validation"] == saved["validation"]
    assert main(["threshold", "binary", "--clear", "--runs-dir", str(tmp_path)]) == 0
    assert read_threshold(run.path) is None and "threshold 0.5000" in capsys.readouterr().out


def test_a_run_without_saved_predictions_says_so(tmp_path, capsys):
    from lorasent_tui.cli import main

    run = fake_binary_run(tmp_path)
    (run.path / "predictions.jsonl").unlink()
    for command in (["threshold", "binary", "--method", "f1"], ["calibrate", "binary"]):
        assert main([*command, "--runs-dir", str(tmp_path)]) == 2
        error = capsys.readouterr().err
        assert "has no saved validation predictions" in error and len(error.splitlines()) == 1


@pytest.mark.slow
def test_evaluate_uses_the_runs_threshold_and_calibration(binary_run, tmp_path, capsys):
    import json

    from lorasent_tui.cli import main
    from lorasent_tui.core.calibration import write_calibration
    from lorasent_tui.core.predictions import read_predictions
    from lorasent_tui.core.results import evaluations
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.threshold import clear_threshold, write_threshold
    from tests.test_evaluate import write_reviews

    runs_dir, run_id = binary_run
    run = RunStore(runs_dir).get(run_id)
    data = write_reviews(tmp_path / "other.jsonl")
    texts = [json.loads(line)["review"] for line in data.read_text().splitlines()]
    truth = [json.loads(line)["sentiment"] for line in data.read_text().splitlines()]
    write_calibration(run.path, {"temperature": 0.5})
    scores = sorted(p["score"] for p in _predict_json_of(runs_dir, run_id, texts, capsys))
    cut = scores[len(scores) // 2]
    assert sum((s >= 0.5) != (s >= cut) for s in scores) > 0  # the threshold changes labels
    write_threshold(run.path, {"method": "f1", "threshold": cut})
    try:
        predicted = _predict_json_of(runs_dir, run_id, texts, capsys)
        assert main(["evaluate", run_id, "--runs-dir", str(runs_dir), "--dataset", str(data),
                     "--text-column", "review", "--label-column", "sentiment", "--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
        matrix = [[sum(t == true and p["label"] == guess for p, t in zip(predicted, truth))
                   for guess in NAMES] for true in NAMES]
        assert printed["metrics"]["confusion_matrix"] == matrix
        (kept,) = evaluations(run.path)
        stored = read_predictions(kept.predictions_path)
        assert stored.probs[:, 1] == pytest.approx([p["score"] for p in predicted], abs=1e-6)
    finally:
        (run.path / "calibration.json").unlink()
        clear_threshold(run.path)


def _predict_json_of(runs_dir, run_id, texts, capsys):
    import json

    from lorasent_tui.cli import main

    assert main(["predict", "--json", "--run", run_id, "--runs-dir", str(runs_dir), *texts]) == 0
    return json.loads(capsys.readouterr().out)


def test_decided_classes_is_the_rule_predict_applies():
    from lorasent_tui.core.predict import prediction
    from lorasent_tui.core.metrics import decided_classes

    probs = [[0.7, 0.3], [0.55, 0.45], [0.2, 0.8]]
    assert decided_classes(probs).tolist() == [0, 0, 1]
    assert decided_classes(probs, 0.4).tolist() == [0, 1, 1]  # P(positive) >= threshold
    names = ["negative", "positive"]
    assert [prediction("t", p, names, 0.4).label for p in probs] == ["negative", "positive", "positive"]
    assert decided_classes([[0.2, 0.5, 0.3]], 0.1).tolist() == [1]  # more classes: the most probable
    assert decided_classes([]).tolist() == []
