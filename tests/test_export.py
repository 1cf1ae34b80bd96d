"""Using a run elsewhere: PEFT loading, merged export + pipeline, model card, report, trackers.

Offline, with tiny models: one trained run per architecture is shared by the whole module.
"""

from __future__ import annotations

import json

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import (EpochResult, RunFailed, RunFinished, StatusUpdate,
                                      StepProgress, TrainCallbacks)

# Short enough never to be truncated at max_length 32, so every tokenizer path sees the same ids.
TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "I loved every minute of it!",
         "The worst acting I have seen in years.", "ok", "Not bad at all, quite charming really."]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "precision": "fp32", "train_size": 24, "eval_size": 16, "epochs": 2,
                         "max_length": 32, "batch_size": 8, "logging_steps": 1,
                         "target_modules": "query,value", "head_learning_rate": "0.05", **extra})


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """``trained(arch) -> (runs_dir, run_id)``, trained once per architecture per module."""
    from lorasent_tui.core.trainer import train

    cache = {}

    def get(arch):
        if arch not in cache:
            runs_dir = tmp_path_factory.mktemp(f"runs-{arch}")
            result = train(_config(tiny_model_dir(arch)), runs_dir=runs_dir)
            assert isinstance(result, RunFinished), result
            cache[arch] = (runs_dir, result.run_id)
        return cache[arch]

    return get


def _predictor_scores(runs_dir, run_id):
    from lorasent_tui.core.predict import Predictor

    predictions = Predictor.from_run(run_id, runs_dir).predict(TEXTS)
    return [p.score for p in predictions], [p.label for p in predictions]


# -- (a) the adapter with plain PEFT ------------------------------------------------------------

@pytest.mark.parametrize("arch", ["distilbert", "bert"])
def test_adapter_loads_with_peft_and_predicts_like_lorasent(arch, trained, tiny_model_dir):
    import torch
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    runs_dir, run_id = trained(arch)
    adapter = runs_dir / run_id / "adapter"
    base_dir = str(tiny_model_dir(arch))
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as handle:
        assert any(k.split(".")[-2] == "classifier" for k in handle.keys())  # the head is saved
    # A different seed than training used: the head must come from the adapter, not the init.
    torch.manual_seed(12345)
    base = AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=2).eval()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    inputs = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        untrained = base(**inputs).logits.softmax(-1)[:, 1].tolist()
        model = PeftModel.from_pretrained(base, str(adapter)).eval()
        probs = model(**inputs).logits.softmax(-1)[:, 1].tolist()
    expected, _labels = _predictor_scores(runs_dir, run_id)
    assert probs == pytest.approx(expected, abs=1e-5)
    # ...and not by chance: the randomly initialised head alone predicts something else.
    assert max(abs(a - b) for a, b in zip(untrained, expected)) > 1e-3


# -- (b) merged export through the CLI, loaded by transformers.pipeline -------------------------

@pytest.mark.parametrize("arch", ["distilbert", "bert"])
def test_merged_export_matches_predictor_in_a_pipeline(arch, trained, tmp_path, capsys):
    from transformers import pipeline

    runs_dir, run_id = trained(arch)
    out = tmp_path / "merged"
    assert main(["export", run_id, "--merged", str(out), "--runs-dir", str(runs_dir)]) == 0
    assert str(out) in capsys.readouterr().out
    files = {p.name for p in out.iterdir()}
    assert "model.safetensors" in files and "adapter_config.json" not in files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging left behind
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["label2id"] == {"negative": 0, "positive": 1}

    classifier = pipeline("text-classification", model=str(out), top_k=None,
                          function_to_apply="softmax", device="cpu")
    outputs = classifier(TEXTS)
    expected, labels = _predictor_scores(runs_dir, run_id)
    for text, scores, score, label in zip(TEXTS, outputs, expected, labels):
        by_label = {s["label"]: s["score"] for s in scores}
        assert set(by_label) == {"negative", "positive"}
        assert by_label["positive"] == pytest.approx(score, abs=1e-4), text
        if abs(score - 0.5) > 1e-3:
            assert max(by_label, key=by_label.get) == label, text


def test_export_refuses_a_foreign_folder_and_replaces_a_previous_export(trained, tmp_path, capsys):
    runs_dir, run_id = trained("distilbert")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main(["export", run_id, "--merged", str(foreign), "--runs-dir", str(runs_dir)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err
    assert (foreign / "notes.txt").read_text() == "keep me"

    out = tmp_path / "nested" / "out"
    from lorasent_tui.core.export import EXPORT_MARKER, export_merged

    assert export_merged(run_id, out, runs_dir=runs_dir) == out
    (out / "stale.txt").write_text("from an older export")
    export_merged(run_id, out, runs_dir=runs_dir)  # a previous export is replaced whole
    assert not (out / "stale.txt").exists()
    assert json.loads((out / EXPORT_MARKER).read_text())["run_id"] == run_id
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]

    empty = tmp_path / "empty"
    empty.mkdir()
    export_merged(run_id, empty, runs_dir=runs_dir)
    assert (empty / "model.safetensors").is_file()
    with pytest.raises(LorasentError, match="inside the run folder"):
        export_merged(run_id, runs_dir / run_id / "export", runs_dir=runs_dir)


def test_export_of_a_run_without_an_epoch_is_a_clear_error(tiny_model_dir, tmp_path):
    from lorasent_tui.core.export import export_merged
    from lorasent_tui.core.store import RunStore

    run = RunStore(tmp_path / "runs").create(_config(tiny_model_dir("bert")), run_id="empty-run")
    with pytest.raises(LorasentError, match="no saved adapter"):
        export_merged(run.run_id, tmp_path / "out", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "out").exists()


# -- (c) model card -----------------------------------------------------------------------------

def test_model_card_has_front_matter_metrics_and_usage(trained, tmp_path):
    from lorasent_tui.core.export import EXPORT_MARKER, export_merged, write_model_card
    from lorasent_tui.core.store import RunStore

    runs_dir, run_id = trained("distilbert")
    run = RunStore(runs_dir).get(run_id)
    card = write_model_card(run)
    assert card == run.path / "README.md"
    text = card.read_text()
    front, body = text.split("---\n")[1], text.split("---\n", 2)[2]
    assert "library_name: \"peft\"" in front and "pipeline_tag: \"text-classification\"" in front
    assert "tags:" in front and "base_model" not in front  # a local folder is not a hub id
    assert "| Epoch | Train loss | Val loss | Acc | Prec | Recall | F1 | TPR | FPR | AUC |" in body
    rows = run.metrics()
    best = run.status()["best_epoch"]
    for row in rows:
        assert f"{row['accuracy']:.4f}" in body
    assert f"Best epoch: {best}" in body
    assert "PeftModel.from_pretrained" in body and 'pipeline("text-classification"' in body
    assert "| `lora_r` | 8 |" in body

    # export refreshes the run's card and puts a merged-model card in the exported folder
    card.unlink()
    out = export_merged(run_id, tmp_path / "m", runs_dir=runs_dir)
    assert card.is_file()
    merged_card = (out / "README.md").read_text()
    assert "library_name: \"transformers\"" in merged_card and "| Epoch |" in merged_card
    assert (out / EXPORT_MARKER).is_file()


def test_model_card_names_a_hub_base_model():
    from lorasent_tui.core.export import _hub_base_model

    assert _hub_base_model("minilm") == "sentence-transformers/all-MiniLM-L6-v2"
    assert _hub_base_model("distilbert-base-uncased") == "distilbert-base-uncased"
    assert _hub_base_model("org/model") == "org/model"
    assert _hub_base_model("/some/local/folder") is None


# -- (d) report ---------------------------------------------------------------------------------

def test_report_writes_a_png(trained, tmp_path, capsys):
    runs_dir, run_id = trained("distilbert")
    assert main(["report", run_id, "--runs-dir", str(runs_dir)]) == 0
    png = runs_dir / run_id / "report.png"
    assert str(png) in capsys.readouterr().out
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000

    other = tmp_path / "plots" / "curves.png"
    assert main(["report", run_id, "--runs-dir", str(runs_dir), "-o", str(other)]) == 0
    assert other.read_bytes()[:8] == PNG_SIGNATURE
    assert [p.name for p in other.parent.iterdir()] == ["curves.png"]  # no temp file left


def test_report_without_a_finished_epoch_is_a_clear_error(tiny_model_dir, tmp_path, capsys):
    from lorasent_tui.core.report import write_report
    from lorasent_tui.core.store import RunStore

    RunStore(tmp_path).create(_config(tiny_model_dir("bert")), run_id="fresh")
    with pytest.raises(LorasentError, match="no finished epoch"):
        write_report("fresh", runs_dir=tmp_path)
    assert main(["report", "fresh", "--runs-dir", str(tmp_path)]) == 2
    assert "no finished epoch" in capsys.readouterr().err
    assert not (tmp_path / "fresh" / "report.png").exists()


# -- (e) trackers -------------------------------------------------------------------------------

def test_unknown_and_uninstalled_trackers_are_clear_errors(monkeypatch):
    from lorasent_tui.core import trackers

    with pytest.raises(LorasentError, match="--report-to comet: unknown tracker"):
        trackers.tracker_callbacks(["comet"])
    real_find_spec = trackers.importlib.util.find_spec
    monkeypatch.setattr(trackers.importlib.util, "find_spec",
                        lambda name, *a: None if name == "wandb" else real_find_spec(name, *a))
    with pytest.raises(LorasentError) as info:
        trackers.tracker_callbacks("wandb")
    assert str(info.value) == "--report-to wandb: the wandb package is not installed; pip install wandb"
    with pytest.raises(LorasentError, match="none cannot be combined"):
        trackers.parse_report_to("none,tensorboard")
    assert trackers.parse_report_to(None) == [] and trackers.parse_report_to(["none"]) == []
    assert "wandb" not in trackers.parse_report_to("all")
    if trackers.installed("tensorboard"):
        assert trackers.parse_report_to(["tensorboard, Tensorboard", "tensorboard"]) == ["tensorboard"]


def test_combine_callbacks_calls_each_in_order():
    from lorasent_tui.core.events import combine_callbacks

    seen = []
    first = TrainCallbacks(on_epoch=lambda e: seen.append(("first", e)),
                           on_status=lambda e: seen.append(("first-status", e)))
    second = TrainCallbacks(on_epoch=lambda e: seen.append(("second", e)))
    combined = combine_callbacks(first, None, second)
    combined.on_epoch("E")
    combined.on_status("S")
    combined.on_progress("P")  # neither handles it: still callable
    assert seen == [("first", "E"), ("second", "E"), ("first-status", "S")]
    assert combine_callbacks(first) is first


def _epoch_event(epoch):
    metrics = {"epoch": epoch, "train_loss": 0.7 - epoch / 10, "eval_loss": 0.69, "accuracy": 0.5,
               "precision": 0.5, "recall": 0.5, "f1": 0.5, "tpr": 0.5, "fpr": 0.5, "roc_auc": 0.5}
    return EpochResult(metrics, {"fpr": [0, 1], "tpr": [0, 1]}, epoch == 1, 1)


def _replay(callbacks, run):
    """The events a two-epoch run sends, without training."""
    callbacks.on_status(StatusUpdate("loading model", run.run_id, "cpu"))
    for step in range(1, 7):
        callbacks.on_progress(StepProgress(step, 6, (step + 2) // 3, 2, 0.1, 0.1, 0.69, "cpu"))
        if step % 3 == 0:
            callbacks.on_epoch(_epoch_event(step // 3))
    callbacks.on_finished(RunFinished(run.run_id, str(run.path), "completed", 1, _epoch_event(1).metrics))


def test_a_failing_tracker_never_stops_training(monkeypatch, tmp_path, tiny_model_dir, caplog):
    from lorasent_tui.core import trackers
    from lorasent_tui.core.store import RunStore

    calls = []

    class Broken(trackers.Tracker):
        name = "tensorboard"

        def step(self, step, loss):
            calls.append(step)
            raise RuntimeError("server went away")

    monkeypatch.setitem(trackers.TRACKER_CLASSES, "tensorboard", Broken)
    monkeypatch.setattr(trackers, "installed", lambda name: True)
    run = RunStore(tmp_path).create(_config(tiny_model_dir("bert")), run_id="r")
    _replay(trackers.tracker_callbacks(["tensorboard"], runs_dir=tmp_path), run)
    assert calls == [1]  # switched off after the first failure
    assert "server went away" in caplog.text
    # failures before the run exists, and RunFailed, are quiet no-ops
    callbacks = trackers.tracker_callbacks(["tensorboard"], runs_dir=tmp_path)
    callbacks.on_failed(RunFailed("bad config"))


def test_tensorboard_writes_event_files(tiny_model_dir, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from lorasent_tui.core.events import combine_callbacks
    from lorasent_tui.core.trackers import tracker_callbacks
    from lorasent_tui.core.trainer import train

    seen = []
    callbacks = combine_callbacks(TrainCallbacks(on_epoch=seen.append),
                                  tracker_callbacks(["tensorboard"], runs_dir=tmp_path))
    result = train(_config(tiny_model_dir("bert")), runs_dir=tmp_path, callbacks=callbacks)
    assert isinstance(result, RunFinished), result
    assert len(seen) == 2  # the other callbacks still ran
    logdir = tmp_path / result.run_id / "tensorboard"
    events = list(logdir.glob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)
    accumulator = EventAccumulator(str(logdir))
    accumulator.Reload()
    scalars = accumulator.Tags()["scalars"]
    assert {"train/loss_step", "epoch/accuracy", "epoch/eval_loss", "epoch/roc_auc"} <= set(scalars)
    assert [e.step for e in accumulator.Scalars("epoch/accuracy")] == [1, 2]


def test_wandb_offline(monkeypatch, tmp_path, tiny_model_dir):
    pytest.importorskip("wandb")
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trackers import tracker_callbacks

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = RunStore(tmp_path).create(_config(tiny_model_dir("bert")), run_id="wb")
    _replay(tracker_callbacks(["wandb"], runs_dir=tmp_path), run)
    assert list((run.path / "wandb").glob("offline-run-*/*.wandb"))


def test_mlflow_local_store(monkeypatch, tmp_path, tiny_model_dir):
    pytest.importorskip("mlflow")
    pytest.importorskip("sqlalchemy")
    from mlflow.tracking import MlflowClient

    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trackers import tracker_callbacks

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    run = RunStore(tmp_path / "runs").create(_config(tiny_model_dir("bert")), run_id="ml")
    _replay(tracker_callbacks(["mlflow"], runs_dir=tmp_path / "runs"), run)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("lorasent-tui")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "ml" and found.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(found.info.run_id, "accuracy")] == [1, 2]
