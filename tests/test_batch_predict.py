"""``predict --input FILE --output OUT``: a whole data file scored as ``predict`` reads each text."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.batch_predict import class_probs_in_chunks, score_file
from lorasent_tui.core.events import RunFinished
from lorasent_tui.core.predict import Predictor
from lorasent_tui.core.scoring import ScoringStopped

TEXTS = ["great moving wonderful good film", "awful dull boring bad film",
         " ".join(["a long review that goes on"] * 12) + " and ends great",  # several windows
         "", "plain film number 3", "   "]


@pytest.fixture(scope="module")
def run(tiny_model_dir, tmp_path_factory):
    """A tiny run that reads long texts as sliding windows: (runs folder, run id)."""
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.trainer import train

    runs = tmp_path_factory.mktemp("batch") / "runs"
    config = build_config({
        "model": str(tiny_model_dir("bert")), "dataset": "imdb", "precision": "fp32",
        "train_size": 24, "eval_size": 16, "epochs": 1, "max_length": 32, "batch_size": 8,
        "sliding_windows": True, "target_modules": "query,value", "device": "cpu"})
    result = train(config, runs_dir=runs, run_id="r")
    assert isinstance(result, RunFinished) and result.state == "completed", result
    return runs, "r"


def predict_file(runs, source, output, *extra):
    return main(["predict", "--run", "r", "--runs-dir", str(runs), "--input", str(source),
                 "--output", str(output), *extra])


def test_every_row_gets_the_verdict_predict_gives_it_in_input_order(run, tmp_path, capsys):
    runs, _ = run
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS}).to_csv(source, index=False)
    assert predict_file(runs, source, tmp_path / "out.csv") == 0
    assert "4 texts scored" in capsys.readouterr().out

    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["row", "text", "label", "score", "p_negative", "p_positive"]
    assert out["row"].tolist() == list(range(len(TEXTS)))
    expected = Predictor.from_run("r", runs).predict([t for t in TEXTS if t.strip()])
    scored = out[out["label"].notna()]
    assert scored["text"].tolist() == [p.text for p in expected]
    assert scored["label"].tolist() == [p.label for p in expected]
    assert scored["score"].tolist() == pytest.approx([p.score for p in expected], abs=1e-6)
    assert scored["p_positive"].tolist() == pytest.approx([p.scores["positive"] for p in expected],
                                                          abs=1e-6)
    # Blank texts keep their row, with no verdict.
    assert out.loc[out["label"].isna(), "row"].tolist() == [3, 5]
    assert out.loc[out["label"].isna(), "score"].isna().all()


def test_chunks_change_nothing_and_progress_counts_texts_to_the_end(run):
    runs, _ = run
    predictor = Predictor.from_run("r", runs)
    texts = TEXTS * 3
    seen: list[tuple[int, int]] = []
    small = class_probs_in_chunks(predictor, texts, lambda done, total: seen.append((done, total)),
                                  chunk=2)
    assert small == class_probs_in_chunks(predictor, texts)
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[0] == 0 and seen[-1] == (12, 12)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".tsv"])
def test_each_output_format_holds_the_same_rows(run, tmp_path, suffix):
    runs, _ = run
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"review": t, "label": "x"}) + "\n" for t in TEXTS))
    assert predict_file(runs, source, tmp_path / f"out{suffix}", "--text-column", "review") == 0
    path = tmp_path / f"out{suffix}"
    out = (pd.read_json(path, lines=True) if suffix == ".jsonl" else pd.read_parquet(path)
           if suffix == ".parquet" else pd.read_csv(path, sep="\t"))
    assert out["row"].tolist() == list(range(len(TEXTS)))
    assert out["label"].isna().tolist() == [not t.strip() for t in TEXTS]


@pytest.mark.parametrize("output, message", [
    ("reviews.csv", "already exists; choose another --output or remove it"),
    ("out.xlsx", "unsupported output type; name it .csv, .tsv, .jsonl or .parquet"),
    ("missing/out.csv", "does not exist; create it first"),
])
def test_an_output_that_cannot_be_written_is_one_line_and_the_input_is_untouched(
        run, tmp_path, capsys, output, message):
    runs, _ = run
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(source, index=False)
    before = source.read_bytes()
    assert predict_file(runs, source, tmp_path / output) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert source.read_bytes() == before


def test_a_missing_text_column_names_the_file_and_the_fix(run, tmp_path, capsys):
    runs, _ = run
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"body": TEXTS}).to_csv(source, index=False)
    assert predict_file(runs, source, tmp_path / "out.csv") == 2
    err = capsys.readouterr().err
    assert str(source) in err and "--text-column" in err
    assert not (tmp_path / "out.csv").exists()


def test_a_failure_while_scoring_leaves_no_output_file(run, tmp_path, monkeypatch):
    runs, _ = run
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(source, index=False)

    def fail(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Predictor, "class_probs", fail)
    with pytest.raises(KeyboardInterrupt):
        predict_file(runs, source, tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


@pytest.mark.parametrize("extra, message", [
    (["--output", "x.csv"], "--output goes with --input"),
    (["--input", "x.csv", "--output", "y.csv", "--json"], "leave out TEXT, --json and --explain"),
])
def test_flags_that_do_not_go_with_a_file_are_refused(run, capsys, extra, message):
    runs, _ = run
    assert main(["predict", "--runs-dir", str(runs), *extra]) == 2
    assert message in capsys.readouterr().err


def test_without_output_the_predictions_go_beside_the_input_never_over_a_file(run, tmp_path):
    runs, _ = run
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    taken = tmp_path / "reviews.predictions.csv"
    taken.write_text("keep me\n")
    assert main(["predict", "--run", "r", "--runs-dir", str(runs), "--input", str(source)]) == 0
    assert taken.read_text() == "keep me\n"
    assert pd.read_csv(tmp_path / "reviews.predictions-2.csv")["row"].tolist() == list(range(len(TEXTS)))


def test_a_stop_ends_the_scoring_after_its_batch_and_writes_nothing(run, tmp_path):
    runs, _ = run
    source = tmp_path / "reviews.csv"
    pd.DataFrame({"text": TEXTS * 40}).to_csv(source, index=False)
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done:
            stop.set()

    with pytest.raises(ScoringStopped):
        score_file(Predictor.from_run("r", runs), str(source), tmp_path / "out.csv", "text", progress, stop)
    assert max(seen) < 160 and not (tmp_path / "out.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


def test_a_file_created_at_the_output_while_scoring_is_never_replaced(tmp_path):
    from lorasent_tui.core.batch_predict import write_predictions
    from lorasent_tui.core.errors import DataError

    output = tmp_path / "out.csv"
    output.write_text("someone else's\n")
    with pytest.raises(DataError, match="created by something else while scoring"):
        write_predictions(output, [{"row": 0, "text": "x", "label": "positive", "score": 0.9}])
    assert output.read_text() == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no staged file left
