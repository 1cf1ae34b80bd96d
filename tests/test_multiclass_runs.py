"""Three classes end to end with tiny models: train → reload → predict, export → pipeline; and
binary runs saved before multi-class support still load, predict and export as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.events import RunFinished

NAMES = ["negative", "neutral", "positive"]
WORDS = {"negative": "awful dull boring", "neutral": "average plain okay",
         "positive": "great moving wonderful"}
TEXTS = ["A wonderful, moving film.", "It was okay, nothing more.", "Dull and awful.", "x"]


def write_three_classes(path):
    rows = [{"text": f"{WORDS[name]} review number {i}", "label": name}
            for name in ("positive", "negative", "neutral") for i in range(16)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def three_class_run(tiny_model_dir, tmp_path_factory):
    """``get(arch) -> (runs_dir, run_id, config)``: one 3-class run per architecture."""
    from lorasent_tui.core.trainer import train

    cache = {}

    def get(arch):
        if arch not in cache:
            root = tmp_path_factory.mktemp(f"three-{arch}")
            data = write_three_classes(root / "three.jsonl")
            config = build_config({
                "model": str(tiny_model_dir(arch)), "dataset": str(data), "precision": "fp32",
                "train_size": 24, "eval_size": 12, "epochs": 2, "max_length": 32,
                "batch_size": 8, "head_learning_rate": "0.05", "class_weights": "balanced",
                "target_modules": "query,value"})
            result = train(config, runs_dir=root / "runs")
            assert isinstance(result, RunFinished), result
            cache[arch] = (root / "runs", result.run_id, config)
        return cache[arch]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["bert", "distilbert", "albert"])
def test_three_classes_train_reload_predict_export(arch, three_class_run, tmp_path, capsys):
    from transformers import pipeline

    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore

    runs_dir, run_id, config = three_class_run(arch)
    run = RunStore(runs_dir).get(run_id)
    assert run.config().labels == NAMES  # recorded: resume, predict and export use these ids
    rows = run.metrics()
    assert {"f1_macro", "f1_weighted", "roc_auc", "per_class"} <= set(rows[-1])
    assert np.asarray(rows[-1]["confusion_matrix"]).sum() == 12
    assert set(run.roc()["1"]["classes"]) == set(NAMES)
    best = run.best_row(rows)

    splits = load_splits(run.config())
    assert splits.label_names == tuple(NAMES)
    for merge in (True, False):
        predictions = Predictor.from_run(run_id, runs_dir, merge=merge).predict(splits.eval_texts)
        probs = [[p.scores[name] for name in NAMES] for p in predictions]
        metrics, _ = classification_metrics(splits.eval_labels, probs, NAMES)
        assert metrics["accuracy"] == pytest.approx(best["accuracy"])
        assert metrics["confusion_matrix"] == best["confusion_matrix"]
        assert metrics["roc_auc"] == pytest.approx(best["roc_auc"], abs=1e-6)

    assert main(["predict", "--json", "--run", run_id, "--runs-dir", str(runs_dir), *TEXTS]) == 0
    answers = json.loads(capsys.readouterr().out)
    expected = Predictor.from_run(run_id, runs_dir).predict(TEXTS)
    for answer, want in zip(answers, expected):
        assert list(answer["scores"]) == NAMES and answer["label"] == want.label
        assert sum(answer["scores"].values()) == pytest.approx(1, abs=1e-5)

    out = tmp_path / "merged"
    assert main(["export", run_id, "--merged", str(out), "--runs-dir", str(runs_dir)]) == 0
    exported = json.loads((out / "config.json").read_text())
    assert exported["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    assert exported["label2id"] == {name: i for i, name in enumerate(NAMES)}
    classifier = pipeline("text-classification", model=str(out), top_k=None,
                          function_to_apply="softmax", device="cpu")
    for scores, want in zip(classifier(TEXTS), expected):
        by_label = {s["label"]: s["score"] for s in scores}
        assert set(by_label) == set(NAMES)
        for name in NAMES:
            assert by_label[name] == pytest.approx(want.scores[name], abs=1e-4)
    card = (out / "README.md").read_text()
    assert "`negative`, `neutral`, `positive`" in card and "| neutral |" in card


@pytest.mark.slow
def test_the_status_that_starts_training_names_the_classes(three_class_run):
    """The app picks its metric columns from it before the first epoch (the data decides them)."""
    from lorasent_tui.core.eventlog import read_events
    from lorasent_tui.core.events import StatusUpdate
    from lorasent_tui.core.store import RunStore

    runs_dir, run_id, _config = three_class_run("bert")
    events, _ = read_events(RunStore(runs_dir).get(run_id).path / "events.jsonl")
    named = [(e.message, list(e.labels)) for e in events if isinstance(e, StatusUpdate) and e.labels]
    assert named == [("training", NAMES)]


@pytest.mark.slow
def test_a_binary_run_saved_before_classes_predicts_and_exports_unchanged(
        tiny_model_dir, tmp_path, capsys):
    """A run folder as written before multi-class support: no labels, balance or class_weights."""
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train

    config = build_config({"model": str(tiny_model_dir("bert")), "precision": "fp32",
                           "train_size": 16, "eval_size": 8, "epochs": 1, "max_length": 32})
    result = train(config, runs_dir=tmp_path / "runs")
    assert isinstance(result, RunFinished), result
    run = RunStore(tmp_path / "runs").get(result.run_id)
    before = Predictor.from_run(result.run_id, tmp_path / "runs").predict(TEXTS)
    saved = json.loads((run.path / "config.json").read_text())
    assert saved["labels"] is None  # binary sentiment records no names
    for name in ("labels", "balance", "class_weights"):
        del saved[name]
    (run.path / "config.json").write_text(json.dumps(saved))
    for row in run.metrics():
        assert set(row) >= {"precision", "recall", "f1", "tpr", "fpr", "roc_auc"}

    after = Predictor.from_run(result.run_id, tmp_path / "runs").predict(TEXTS)
    assert [(p.label, p.score) for p in after] == [(p.label, p.score) for p in before]
    assert list(after[0].scores) == ["negative", "positive"]
    assert main(["predict", "--json", "--run", result.run_id, "--runs-dir",
                 str(tmp_path / "runs"), TEXTS[0]]) == 0
    [answer] = json.loads(capsys.readouterr().out)
    assert answer["score"] == pytest.approx(answer["scores"]["positive"])
    out = tmp_path / "merged"
    assert main(["export", result.run_id, "--merged", str(out), "--runs-dir",
                 str(tmp_path / "runs")]) == 0
    assert json.loads((out / "config.json").read_text())["id2label"] == {
        "0": "negative", "1": "positive"}
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert result.run_id in capsys.readouterr().out


def test_balanced_class_weights_are_inverse_frequency():
    from lorasent_tui.core.session import balanced_class_weights

    assert balanced_class_weights([0, 0, 0, 1], 2) == pytest.approx([4 / 6, 4 / 2])
    assert balanced_class_weights([0, 1, 2, 2], 3) == pytest.approx([4 / 3, 4 / 3, 4 / 6])
    assert balanced_class_weights([0, 1], 2) == [1.0, 1.0]  # balanced data: plain loss


def fake_three_class_run(runs_dir):
    """A finished 3-class run folder (records only: no training)."""
    from lorasent_tui.core.metrics import classification_metrics
    from lorasent_tui.core.store import RunStore

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    run = RunStore(runs_dir).create(build_config({"epochs": 2, "labels": ",".join(NAMES)}),
                                    run_id="three")
    rows, rocs = [], {}
    for epoch in (1, 2):
        probs = rng.dirichlet([1, 1, 1], 60) + np.eye(3)[labels] * 0.3 * epoch
        probs /= probs.sum(axis=1, keepdims=True)
        metrics, roc = classification_metrics(labels, probs, NAMES)
        rows.append({"epoch": epoch, "train_loss": 1.0 / epoch, "eval_loss": 1.1 / epoch,
                     **metrics})
        rocs[str(epoch)] = {**roc, "auc": metrics["roc_auc"]}
    run.write_metrics(rows)
    run.write_roc(rocs)
    run.update_status(state="completed", best_epoch=2, epochs_done=2)
    return run


def test_report_cli_table_and_card_of_a_three_class_run(tmp_path, capsys):
    from lorasent_tui.console import format_row, table_header
    from lorasent_tui.core.export import model_card_text
    from lorasent_tui.core.report import write_report

    run = fake_three_class_run(tmp_path)
    png = write_report("three", tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    row = run.metrics()[1]
    assert "Macro-F1" in table_header(3) and "TPR" not in table_header(3)
    assert len(format_row(row).split()) == len(table_header(3).split()) - 2  # "Train loss", "Val loss"
    card = model_card_text(run)
    assert "3-class text classification" in card and "macro F1" in card
    assert "| Macro-F1 | W-F1 | AUC |" in card and card.count("| neutral |") == 1
    summary = run.summary()
    assert summary.label_names == NAMES and summary.best_f1 == row["f1_macro"]
