"""``evaluate``: a saved run scored on other labelled data, kept under ``evaluations/<name>/``."""

from __future__ import annotations

import json

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.events import RunFinished
from lorasent_tui.core.results import evaluations, read_result
from lorasent_tui.core.store import RunStore
from tests.test_kill import wait_for

WORDS = {"negative": "awful dull boring bad", "positive": "great moving wonderful good"}


def write_reviews(path, labels=("negative", "positive"), n=12):
    rows = [{"review": f"{WORDS.get(name, 'plain')} film number {i}", "sentiment": name}
            for i in range(n) for name in labels]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def imdb_run(tiny_model_dir, tmp_path_factory):
    """A tiny run on the built-in IMDb with a test split: (runs folder, run id)."""
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.trainer import train

    root = tmp_path_factory.mktemp("evaluate")
    config = build_config({
        "model": str(tiny_model_dir("bert")), "dataset": "imdb", "precision": "fp32",
        "train_size": 40, "eval_size": 24, "test_size": 16, "epochs": 1, "max_length": 32,
        "batch_size": 8, "target_modules": "query,value", "device": "cpu"})
    result = train(config, runs_dir=root / "runs", run_id="r")
    assert isinstance(result, RunFinished) and result.state == "completed", result
    return root / "runs", "r"


def evaluate_args(runs, *extra):
    return ["evaluate", "r", "--runs-dir", str(runs), *extra]


@pytest.mark.slow
def test_evaluate_accuracy_equals_predict_json(imdb_run, tmp_path, capsys):
    runs, _ = imdb_run
    data = write_reviews(tmp_path / "other.jsonl")
    assert main(evaluate_args(runs, "--dataset", str(data), "--text-column", "review",
                              "--label-column", "sentiment", "--json")) == 0
    printed = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    assert main(["predict", "--run", "r", "--runs-dir", str(runs), "--json",
                 *[r["review"] for r in rows]]) == 0
    predicted = json.loads(capsys.readouterr().out)
    accuracy = sum(p["label"] == r["sentiment"] for p, r in zip(predicted, rows)) / len(rows)
    assert printed["metrics"]["accuracy"] == pytest.approx(accuracy)
    assert printed["size"] == len(rows) and printed["excluded"] == 0 and printed["name"] == "other"
    (kept,) = evaluations(runs / "r")
    assert kept.accuracy == pytest.approx(accuracy) and kept.meta["dataset"] == str(data)
    from lorasent_tui.core.predictions import read_predictions

    stored = read_predictions(kept.predictions_path)
    assert [stored.label_names[k] for k in stored.y_pred] == [p["label"] for p in predicted]
    assert "## Evaluations on other data" in (runs / "r" / "README.md").read_text()


@pytest.mark.slow
def test_own_builtin_dataset_leaves_out_seen_texts(imdb_run, capsys):
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.predictions import read_predictions

    runs, run_id = imdb_run
    assert main(evaluate_args(runs, "--dataset", "imdb", "--size", "30", "--name", "imdb-rest")) == 0
    out = capsys.readouterr().out
    splits = load_splits(RunStore(runs).get(run_id).config())
    seen = {t.strip() for t in splits.train_texts + splits.eval_texts + splits.test_texts}
    assert len(seen) == 40 + 24 + 16
    assert f"left out {len(seen)} texts" in out
    result = read_result(runs / run_id / "evaluations" / "imdb-rest")
    assert result.meta["excluded"] == len(seen) and result.size == 30
    scored = read_predictions(result.predictions_path).texts
    assert len(scored) == 30 and not {t.strip() for t in scored} & seen


@pytest.mark.slow
def test_labels_not_among_the_run_classes_exit_2_naming_them(imdb_run, tmp_path, capsys):
    runs, _ = imdb_run
    data = write_reviews(tmp_path / "three.jsonl", ("negative", "positive", "mixed"), n=2)
    code = main(evaluate_args(runs, "--dataset", str(data), "--text-column", "review",
                              "--label-column", "sentiment"))
    (error,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == 2 and "label value 'mixed' not among the classes of run r: negative, positive" in error
    assert not (runs / "r" / "evaluations" / "three").exists()


def _kill_when_paused(zygote, args: list[str], pause: str) -> None:
    pid, lines = zygote.start(args, {"LORASENT_KILL_PAUSE": pause})
    try:
        wait_for(lines, r"^@@ paused")
    finally:
        zygote.kill(pid)


@pytest.mark.slow
def test_evaluation_folder_survives_sigkill_mid_write(imdb_run, zygote, tmp_path, capsys):
    runs, run_id = imdb_run
    data = write_reviews(tmp_path / "kill.jsonl")
    args = evaluate_args(runs, "--dataset", str(data), "--text-column", "review",
                         "--label-column", "sentiment", "--name", "k")
    folder = runs / run_id / "evaluations" / "k"
    # Killed while writing the first one's predictions: no evaluation at all, no debris listed.
    _kill_when_paused(zygote, args, r"replace:^\.predictions\.jsonl\.")
    assert read_result(folder) is None and "k" not in [r.name for r in evaluations(runs / run_id)]
    assert main(args) == 0
    first = read_result(folder)
    assert first is not None and first.size == 24
    # Killed between the two renames that replace it: the complete copy is still read.
    _kill_when_paused(zygote, args, r"replace:-staging-.* -> k$")
    again = read_result(folder)
    assert again is not None and again.meta["date"] == first.meta["date"]
    assert main(args) == 0  # the leftovers are cleared by the next evaluation of that name
    capsys.readouterr()
    names = {p.name for p in folder.parent.iterdir()}
    assert "k" in names and not any(n == "k.old" or n.startswith(".k-staging-") for n in names)
    assert [r.name for r in evaluations(runs / run_id)].count("k") == 1


def test_old_run_folders_without_test_or_predictions_still_list_and_report(tmp_path, capsys):
    from lorasent_tui.core.config import TrainConfig
    from lorasent_tui.core.export import model_card_text

    run = RunStore(tmp_path).create(TrainConfig(epochs=1), run_id="old")
    run.write_metrics([{"epoch": 1, "train_loss": 0.6, "eval_loss": 0.5, "accuracy": 0.8,
                        "precision": 0.8, "recall": 0.8, "f1": 0.8, "tpr": 0.8, "fpr": 0.2,
                        "roc_auc": 0.85}])
    run.adapter_dir.mkdir()
    (run.adapter_dir / "adapter_model.safetensors").write_bytes(b"weights")
    run.update_status(best_epoch=1, state="completed")
    (summary,) = RunStore(tmp_path).list()
    assert summary.problem is None and summary.test_accuracy is None
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "TEST ACC" not in capsys.readouterr().out
    card = model_card_text(run)
    assert "Test (" not in card and "Evaluations" not in card
    assert evaluations(run.path) == []
    assert main(["report", "old", "--runs-dir", str(tmp_path)]) == 0
