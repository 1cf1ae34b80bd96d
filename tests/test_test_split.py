"""The test split (``--test-size``): drawn apart from train and eval, never choosing the best
epoch, scored once at the end with the best epoch and stored apart from the epochs' rows."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lorasent_tui.core.config import TrainConfig, build_config
from lorasent_tui.core.data import load_splits
from lorasent_tui.core.events import RunFinished, StatusUpdate, TrainCallbacks

WORDS = {"negative": "awful dull boring bad", "positive": "great moving wonderful good"}


def write_binary(path, per_class=40):
    rows = [{"text": f"{WORDS[name]} review {i} {'x' * (i % 5)}", "label": name}
            for i in range(per_class) for name in ("negative", "positive")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("dataset", ["imdb", "file"])
def test_test_split_is_disjoint_deterministic_and_leaves_train_eval_alone(dataset, tmp_path):
    name = str(write_binary(tmp_path / "d.jsonl")) if dataset == "file" else "imdb"
    sizes = dict(train_size=30, eval_size=20) if dataset == "file" else dict(train_size=200, eval_size=100)
    plain = load_splits(TrainConfig(dataset=name, **sizes))
    tested = load_splits(TrainConfig(dataset=name, test_size=16, **sizes))
    assert tested.train_texts == plain.train_texts and tested.eval_texts == plain.eval_texts
    assert len(tested.test_texts) == 16 and sorted(tested.test_labels) == [0] * 8 + [1] * 8
    assert not set(tested.test_texts) & (set(tested.train_texts) | set(tested.eval_texts))
    again = load_splits(TrainConfig(dataset=name, test_size=16, **sizes))
    assert again.test_texts == tested.test_texts
    other_seed = load_splits(TrainConfig(dataset=name, test_size=16, seed=7, **sizes))
    assert other_seed.test_texts != tested.test_texts


def test_predefined_splits_draw_test_from_unused_train_rows(tmp_path):
    path = tmp_path / "s.jsonl"
    rows = [{"text": f"{WORDS[n]} {i}", "label": n, "split": "train" if i < 30 else "validation"}
            for i in range(40) for n in WORDS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    splits = load_splits(TrainConfig(dataset=str(path), train_size=20, eval_size=10, test_size=10))
    assert len(splits.test_texts) == 10
    assert not set(splits.test_texts) & (set(splits.train_texts) | set(splits.eval_texts))


def test_too_large_test_size_is_a_data_error(tmp_path):
    from lorasent_tui.core.errors import DataError

    with pytest.raises(DataError, match="test_size 50 exceeds the 30"):
        load_splits(TrainConfig(dataset=str(write_binary(tmp_path / "d.jsonl")), train_size=30,
                                eval_size=20, test_size=50))


@pytest.fixture(scope="module")
def planted_runs(tiny_model_dir, tmp_path_factory, request):
    """Two runs on the same train/eval rows: without a test split, and with a planted one
    whose labels are all inverted (chosen on it, the best epoch would be the worst one)."""
    import lorasent_tui.core.data as data
    from lorasent_tui.core.trainer import train

    root = tmp_path_factory.mktemp("planted")
    config = build_config({
        "model": str(tiny_model_dir("bert")), "dataset": str(write_binary(root / "d.jsonl")),
        "precision": "fp32", "train_size": 40, "eval_size": 24, "epochs": 3, "max_length": 32,
        "batch_size": 8, "head_learning_rate": "0.05", "target_modules": "query,value",
        "device": "cpu"})
    plain = train(config, runs_dir=root / "runs", run_id="plain")
    real = data.load_splits

    def planted(cfg):
        splits = real(dataclasses.replace(cfg, test_size=0))
        return dataclasses.replace(splits, test_texts=list(splits.eval_texts),
                                   test_labels=[1 - y for y in splits.eval_labels])

    events = []
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "load_splits", planted)
    try:
        tested = train(dataclasses.replace(config, test_size=24), runs_dir=root / "runs",
                       run_id="tested", callbacks=TrainCallbacks(on_status=events.append,
                                                                 on_progress=events.append))
    finally:
        mp.undo()
    assert isinstance(plain, RunFinished) and isinstance(tested, RunFinished)
    PLANTED_EVENTS[:] = events
    return root / "runs"


PLANTED_EVENTS: list = []


@pytest.mark.slow
def test_planted_test_set_plays_no_part_in_the_best_epoch(planted_runs):
    from lorasent_tui.core.results import held_out_result
    from lorasent_tui.core.store import RunStore

    store = RunStore(planted_runs)
    plain, tested = store.get("plain"), store.get("tested")
    assert tested.metrics() == plain.metrics()  # the test rows are never in the epochs' rows
    assert tested.status()["best_epoch"] == plain.status()["best_epoch"]
    result = held_out_result(tested.path)
    assert held_out_result(plain.path) is None and result is not None
    best = tested.best_row(tested.metrics())
    # The same texts as validation with every label inverted: the exact complement.
    assert result.accuracy == pytest.approx(1 - best["accuracy"])
    assert result.meta["best_epoch"] == best["epoch"] and result.size == 24
    assert not any("test" in key for row in tested.metrics() for key in row)


@pytest.mark.slow
def test_test_and_validation_predictions_are_kept(planted_runs, capsys):
    from lorasent_tui.cli import main
    from lorasent_tui.core.predictions import read_predictions
    from lorasent_tui.core.store import RunStore

    run = RunStore(planted_runs).get("tested")
    best = run.best_row(run.metrics())
    validation = read_predictions(run.path / "predictions.jsonl")
    assert (validation.y_pred == validation.y_true).mean() == pytest.approx(best["accuracy"])
    assert validation.loss.mean() == pytest.approx(best["eval_loss"], abs=1e-5)
    test = read_predictions(run.path / "test" / "predictions.jsonl")
    assert len(test) == 24 and test.texts == validation.texts
    assert main(["runs", "--runs-dir", str(planted_runs)]) == 0
    out = capsys.readouterr().out
    assert "TEST ACC" in out
    assert main(["runs", "--runs-dir", str(planted_runs), "--json"]) == 0
    listed = {r["run_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["plain"]["test_accuracy"] is None
    assert listed["tested"]["test_accuracy"] == pytest.approx(1 - best["accuracy"])


@pytest.mark.slow
def test_test_scoring_reports_its_progress(planted_runs):
    statuses = [e.message for e in PLANTED_EVENTS if isinstance(e, StatusUpdate)]
    assert any(m.startswith("testing the best epoch") and "24 test reviews" in m for m in statuses)
    testing = [e for e in PLANTED_EVENTS if getattr(e, "phase", None) == "test"]
    assert testing[0].eval_done == 0 and testing[-1].eval_done == testing[-1].eval_total == 24
    epochs = [i for i, e in enumerate(PLANTED_EVENTS) if getattr(e, "phase", None) in ("train", "eval")]
    assert PLANTED_EVENTS.index(testing[0]) > max(epochs)  # once, after the last epoch
