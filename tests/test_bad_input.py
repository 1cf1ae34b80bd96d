"""Odd prediction input, damaged run folders and failing resources give clear errors, not crashes.

(Bad data files are covered by tests/test_data.py.)
"""

from __future__ import annotations

import errno
import io
import math
import shutil
import signal
import threading

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import TrainConfig, build_config
from lorasent_tui.core.events import RunFailed, RunFinished, TrainCallbacks
from lorasent_tui.core.store import RunStore

ODD_TEXTS = [
    "",
    "   \t\n  ",
    ("a great movie, " * 70_000)[:1_000_000],  # 1 MB of words
    "x" * 1_500_000,  # one 1.5 MB "word", above the 1M-character cap
    "\x00\x00\x00",
    "\x1b[31mred alert\x1b[0m \x07\x08\x7f",
    "loved it 😀🎬👍🏽 " * 3,
    "这部电影很好看，我非常喜欢。",
    "الفيلم رائع جدا",
    "Ünïcödé ñ ß — “quotes” ‘and’ …",
    "\udcff\ud800 lone surrogates (from undecodable argv bytes)",
    "\u200b\u200d\ufeff zero-width",
    "line one\nline two\r\nline three",
]


def _main(argv):
    """cli.main in this process, keeping pytest's signal handlers (train installs its own)."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return main(argv)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "train_size": 16, "eval_size": 8, "epochs": 1,
                         "max_length": 32, "batch_size": 8, "device": "cpu", **extra})


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """A finished 1-epoch tiny run: (runs folder, run id)."""
    from lorasent_tui.core.trainer import train

    runs = tmp_path_factory.mktemp("runs")
    result = train(_config(tiny_model_dir("bert")), runs_dir=runs)
    assert isinstance(result, RunFinished) and result.state == "completed", result
    return runs, result.run_id


@pytest.fixture(scope="module")
def predictor(trained):
    from lorasent_tui.core.predict import Predictor

    runs, run_id = trained
    return Predictor.from_run(run_id, runs)


# -- prediction input ----------------------------------------------------------------------


def test_odd_texts_each_get_a_prediction(predictor):
    predictions = predictor.predict(ODD_TEXTS, batch_size=4)
    assert len(predictions) == len(ODD_TEXTS)
    for text, prediction in zip(ODD_TEXTS, predictions):
        assert prediction.text == text
        assert 0.0 <= prediction.score <= 1.0 and not math.isnan(prediction.score)
        assert prediction.label == ("positive" if prediction.score >= 0.5 else "negative")
        prediction.to_dict()
    # One at a time gives the same scores as in a batch (padding does not leak in).
    for text, prediction in zip(ODD_TEXTS[:2] + ODD_TEXTS[4:], predictions[:2] + predictions[4:]):
        (alone,) = predictor.predict([text])
        assert alone.score == pytest.approx(prediction.score, abs=1e-5)


def test_no_texts_is_an_empty_answer(predictor):
    assert predictor.predict([]) == []


def test_predict_is_thread_safe(predictor):
    expected = [p.score for p in predictor.predict(ODD_TEXTS[5:9])]
    results, errors = [], []

    def work():
        try:
            results.append([p.score for p in predictor.predict(ODD_TEXTS[5:9])])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r == pytest.approx(expected, abs=1e-6) for r in results)


def test_cli_predict_odd_texts(trained, capsys):
    import json

    runs, run_id = trained
    texts = ["", "\x1b[31mred\x1b[0m", "这部电影很好看", "-- not a flag"]
    assert _main(["predict", "--runs-dir", str(runs), "--run", run_id, "--json", "--", *texts]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["text"] for p in out] == texts


@pytest.mark.parametrize("stdin", ["", "\n  \n\t\n"])
def test_cli_predict_with_no_texts_and_empty_stdin(trained, monkeypatch, capsys, stdin):
    runs, run_id = trained
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = _main(["predict", "--runs-dir", str(runs), "--run", run_id])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no texts" in err


# -- damaged run folders -------------------------------------------------------------------

DAMAGE = {
    "config-garbage": lambda p: (p / "config.json").write_bytes(b"\x00\xff{garbage"),
    "config-not-an-object": lambda p: (p / "config.json").write_text('"just a string"'),
    "config-empty-list": lambda p: (p / "config.json").write_text("[]"),
    "config-is-a-folder": lambda p: ((p / "config.json").unlink(), (p / "config.json").mkdir()),
    "config-missing": lambda p: (p / "config.json").unlink(),
    "status-garbage": lambda p: (p / "status.json").write_text("{"),
    "status-is-a-folder": lambda p: ((p / "status.json").unlink(), (p / "status.json").mkdir()),
    "metrics-torn-last-line": lambda p: (p / "metrics.jsonl").write_text(
        (p / "metrics.jsonl").read_text() + '{"epoch": 2, "train_lo'),
    "metrics-not-objects": lambda p: (p / "metrics.jsonl").write_text("5\n"),
    "adapter-missing": lambda p: shutil.rmtree(p / "adapter"),
    "adapter-weights-missing": lambda p: (p / "adapter" / "adapter_model.safetensors").unlink(),
}
# Prediction needs only config.json and the adapter; damage elsewhere does not stop it.
PREDICT_FAILS = {"config-garbage", "config-not-an-object", "config-empty-list",
                 "config-is-a-folder", "config-missing", "adapter-missing",
                 "adapter-weights-missing", "adapter-weights-garbage", "adapter-config-garbage"}


@pytest.fixture(scope="module")
def damaged_runs(trained, tmp_path_factory):
    runs, run_id = trained
    root = tmp_path_factory.mktemp("damaged")
    shutil.copytree(runs / run_id, root / "intact")
    for name, damage in DAMAGE.items():
        shutil.copytree(runs / run_id, root / name)
        damage(root / name)
    for name, file in (("adapter-weights-garbage", "adapter_model.safetensors"),
                       ("adapter-config-garbage", "adapter_config.json")):
        shutil.copytree(runs / run_id, root / name)
        (root / name / "adapter" / file).write_bytes(b"\x00not what it should be{")
    return root


def test_damaged_runs_are_listed_with_their_problem(damaged_runs, capsys):
    summaries = {s.run_id: s for s in RunStore(damaged_runs).list()}
    assert summaries["intact"].state == "completed" and summaries["intact"].problem is None
    for name in DAMAGE:
        summary = summaries[name]
        assert summary.problem, name
        assert "\n" not in summary.problem
        if not name.startswith("adapter"):
            assert summary.state == "damaged", name
    assert _main(["runs", "--runs-dir", str(damaged_runs)]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in DAMAGE)
    assert RunStore(damaged_runs).get("latest").run_id not in {
        n for n in DAMAGE if summaries[n].state == "damaged"}


@pytest.mark.parametrize("name", sorted(set(DAMAGE) | PREDICT_FAILS))
def test_predict_on_a_damaged_run(damaged_runs, name, capsys):
    code = _main(["predict", "--runs-dir", str(damaged_runs), "--run", name, "fine film"])
    captured = capsys.readouterr()
    if name in PREDICT_FAILS:
        assert code == 2, captured
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("lorasent-tui: error:"), captured.err
        assert name not in ("adapter-missing",) or "no saved adapter" in lines[0]
    else:
        assert code == 0, captured.err
        assert "fine film" in captured.out


# -- resources -----------------------------------------------------------------------------


def test_cuda_out_of_memory_advises_smaller_batches(tiny_model_dir, tmp_path, monkeypatch):
    import torch

    from lorasent_tui.core.trainer import train

    def oom(*_args, **_kwargs):
        raise torch.cuda.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.77 GiB total capacity)")

    monkeypatch.setattr(torch.optim.AdamW, "step", oom)
    failed = []
    result = train(_config(tiny_model_dir("bert")), runs_dir=tmp_path,
                   callbacks=TrainCallbacks(on_failed=failed.append))
    assert isinstance(result, RunFailed) and failed == [result]
    assert "out of memory" in result.message.lower()
    assert "--batch-size" in result.message and "--max-length" in result.message
    assert "\n" not in result.message
    run = RunStore(tmp_path).get(result.run_id)
    status = run.status()
    assert status["state"] == "failed" and status["error"] == result.message
    assert status["finished_at"]
    (summary,) = RunStore(tmp_path).list()
    assert summary.state == "failed"


def test_cuda_out_of_memory_in_the_cli_is_one_line(tiny_model_dir, tmp_path, monkeypatch, capsys):
    import torch

    def oom(*_args, **_kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 512.00 MiB")

    monkeypatch.setattr(torch.optim.AdamW, "step", oom)
    code = _main(["train", "--model", str(tiny_model_dir("bert")), "--train-size", "8",
                  "--eval-size", "8", "--epochs", "1", "--max-length", "32", "--device", "cpu",
                  "--runs-dir", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    # 1, not 2: the command and its input were valid (2 is for those); the run failed while
    # training, like a full disk, and its folder is kept as failed.
    assert code == 1
    assert "Traceback" not in err
    assert "lower --batch-size or --max-length" in err.splitlines()[0]


def _disk_full(path: str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


def _fail_in_save_file(monkeypatch, armed):
    import safetensors.torch

    real = safetensors.torch.save_file

    def save_file(tensors, filename, *args, **kwargs):
        if armed.is_set() and str(filename).endswith("optimizer.safetensors"):
            raise _disk_full(str(filename))
        return real(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)


def _fail_in_fsync(monkeypatch, armed):
    from lorasent_tui.core import fsutil

    real = fsutil.fsync_tree

    def fsync_tree(root):
        if armed.is_set() and ".checkpoint-" in str(root):
            raise _disk_full(str(root))
        return real(root)

    monkeypatch.setattr(fsutil, "fsync_tree", fsync_tree)


@pytest.mark.parametrize("where", [_fail_in_save_file, _fail_in_fsync], ids=["save_file", "fsync"])
def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(
        where, tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core.checkpoint import checkpoint_state
    from lorasent_tui.core.trainer import train

    armed = threading.Event()  # the disk fills up after epoch 1 was saved
    where(monkeypatch, armed)
    callbacks = TrainCallbacks(on_epoch=lambda e: armed.set())
    result = train(_config(tiny_model_dir("bert"), epochs=2), runs_dir=tmp_path, callbacks=callbacks)
    assert isinstance(result, RunFailed), result
    assert result.message.startswith("disk full while writing:")
    assert "free space and resume" in result.message and "\n" not in result.message
    run = RunStore(tmp_path).get(result.run_id)
    assert run.status()["state"] == "failed"
    assert checkpoint_state(run.checkpoint_dir)["epoch"] == 1
    assert not [p for p in run.path.iterdir() if p.name.startswith(".checkpoint-")]

    armed.clear()  # space freed: the run resumes from epoch 1's checkpoint
    resumed = train(TrainConfig(), runs_dir=tmp_path, resume=result.run_id)
    assert isinstance(resumed, RunFinished) and resumed.state == "completed", resumed
    assert [r["epoch"] for r in run.metrics()] == [1, 2]
    assert checkpoint_state(run.checkpoint_dir)["epoch"] == 2


@pytest.mark.parametrize("make", ["under-a-file", "is-a-file"])
def test_unusable_runs_folder_is_a_clear_error(make, tiny_model_dir, tmp_path, capsys):
    from lorasent_tui.core.trainer import train

    blocker = tmp_path / "file"
    blocker.write_text("x")
    runs = blocker / "runs" if make == "under-a-file" else blocker
    result = train(_config(tiny_model_dir("bert")), runs_dir=runs)
    assert isinstance(result, RunFailed) and result.user_error and result.run_id is None
    assert str(runs) in result.message and "\n" not in result.message
    code = _main(["train", "--model", str(tiny_model_dir("bert")), "--runs-dir", str(runs), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.startswith("lorasent-tui: error:")


def test_read_only_runs_folder_is_a_clear_error(tmp_path, monkeypatch):
    """(As root, chmod does not stop writes; the store's access check is what is exercised.)"""
    import os

    from lorasent_tui.core.errors import RunError

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if str(p) == str(tmp_path)
                        else real_access(p, mode, **k))
    with pytest.raises(RunError, match="is not writable"):
        RunStore(tmp_path).create(TrainConfig())


# -- mistakes found before training leave no run folder --------------------------------------


def _bad_label_file(tmp_path):
    path = tmp_path / "bad-labels.csv"
    path.write_text("text,label\n" + "".join(f"review {i},maybe\n" for i in range(20)))
    return path


def _wrong_columns_file(tmp_path):
    path = tmp_path / "wrong-columns.csv"
    path.write_text("body,stars\n" + "".join(f"review {i},{i % 2}\n" for i in range(20)))
    return path


@pytest.mark.parametrize("flags, says", [
    (lambda tmp, model: ["--dataset", str(tmp / "nope.csv")], "nope.csv"),
    (lambda tmp, model: ["--dataset", str(_bad_label_file(tmp))], "bad-labels.csv"),
    (lambda tmp, model: ["--dataset", str(_wrong_columns_file(tmp))], "wrong-columns.csv"),
    (lambda tmp, model: ["--model", str(tmp / "no-such-model")], "no-such-model"),
    (lambda tmp, model: ["--model", "no-such-org/no-such-model-xyz"], "no-such-model-xyz"),
    (lambda tmp, model: ["--model", str(tmp)], "config.json"),  # a folder that is no model
], ids=["missing-file", "bad-labels", "wrong-columns", "missing-model-folder", "unknown-hub-id",
        "not-a-model-folder"])
def test_input_mistakes_exit_2_and_leave_runs_empty(flags, says, tiny_model_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    model = tiny_model_dir("bert")
    capsys.readouterr()  # building the tiny model prints progress bars
    argv = ["train", "--model", str(model), "--train-size", "8", "--eval-size", "8", "--epochs", "1",
            "--device", "cpu", "--runs-dir", str(runs), "--quiet", *flags(tmp_path, model)]
    code = _main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("lorasent-tui: error:") and says in err[0], err
    assert not runs.exists() or not any(runs.iterdir())


def test_a_model_folder_without_safetensors_weights_is_found_before_the_run(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir("bert"), folder)
    (folder / "model.safetensors").unlink()
    result = train(_config(folder), runs_dir=tmp_path / "runs")
    assert isinstance(result, RunFailed) and result.user_error and result.run_id is None
    assert "model.safetensors" in result.message
    assert not (tmp_path / "runs").exists()


def test_a_failure_after_training_started_keeps_its_folder(tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core import views
    from lorasent_tui.core.trainer import train

    def broken(*_args):
        raise RuntimeError("tokenizer exploded")

    monkeypatch.setattr(views, "encode_views", broken)  # fails while the run sets up

    result = train(_config(tiny_model_dir("bert")), runs_dir=tmp_path)
    assert isinstance(result, RunFailed) and result.run_id is not None
    (summary,) = RunStore(tmp_path).list()
    assert summary.state == "failed"


@pytest.mark.slow
def test_input_mistakes_under_torchrun_leave_runs_empty_too(tiny_model_dir, tmp_path):
    """The multi-process path: rank 0's one-line error comes back, and no folder is left."""
    from lorasent_tui.core.launcher import train_subprocess

    config = _config(tiny_model_dir("bert"), dataset=str(tmp_path / "nope.csv"))
    result = train_subprocess(config, runs_dir=tmp_path / "runs", nproc=2)
    assert isinstance(result, RunFailed) and result.user_error and result.run_id is None, result
    assert "nope.csv" in result.message and "\n" not in result.message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
