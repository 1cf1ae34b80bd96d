"""Nothing is ever unpickled, no remote code is run, and run ids cannot leave the runs folder.

(Basic run id checks are in tests/test_store.py; these extend them.)
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import threading
from pathlib import Path

import pytest

import lorasent_tui
from lorasent_tui.core.config import TrainConfig, build_config
from lorasent_tui.core.errors import ModelError, RunError
from lorasent_tui.core.events import RunFailed, RunFinished, TrainCallbacks
from lorasent_tui.core.store import RunStore, check_run_id

SOURCE = Path(lorasent_tui.__file__).parent


class Payload:
    """Unpickling this creates ``marker``: proof that a file was unpickled."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant(folder: Path, names: list[str], markers: Path) -> None:
    import torch

    for name in names:
        marker = markers / f"{folder.name}--{name}.pwned"
        if name.endswith(".pkl"):
            (folder / name).write_bytes(pickle.dumps(Payload(marker)))
        else:  # torch.save's zip format, which torch.load(weights_only=False) would run
            torch.save({"state": Payload(marker)}, folder / name)


ADAPTER_PLANTS = ["adapter_model.bin", "pytorch_model.bin", "adapter.pt", "adapter_model.pkl"]
CHECKPOINT_PLANTS = ["optimizer.pt", "scheduler.pt", "rng_state.pth", "trainable.bin",
                     "pytorch_model.bin", "training_args.bin"]
MODEL_PLANTS = ["pytorch_model.bin", "model.pt", "training_args.bin", "tokenizer.pkl"]


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "train_size": 16, "eval_size": 8, "epochs": 2,
                         "max_length": 32, "batch_size": 8, "device": "cpu", **extra})


def test_the_payload_is_live(tmp_path):
    """The planted files really would run code if anything unpickled them."""
    import torch

    plant(tmp_path, ["x.bin", "x.pkl"], tmp_path)
    torch.load(tmp_path / "x.bin", weights_only=False)
    pickle.loads((tmp_path / "x.pkl").read_bytes())
    assert sorted(p.name for p in tmp_path.glob("*.pwned")) == [
        f"{tmp_path.name}--x.bin.pwned", f"{tmp_path.name}--x.pkl.pwned"]


@pytest.fixture
def poisoned(tiny_model_dir, tmp_path):
    """A run stopped after epoch 1, on a model folder, with pickles planted everywhere."""
    from lorasent_tui.core.trainer import train

    markers = tmp_path / "markers"
    markers.mkdir()
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir("bert"), model)
    plant(model, MODEL_PLANTS, markers)
    runs = tmp_path / "runs"
    stop = threading.Event()
    result = train(_config(model), runs_dir=runs, stop_event=stop,
                   callbacks=TrainCallbacks(on_epoch=lambda e: stop.set()))
    assert isinstance(result, RunFinished) and result.state == "stopped", result
    run = RunStore(runs).get(result.run_id)
    plant(run.adapter_dir, ADAPTER_PLANTS, markers)
    plant(run.checkpoint_dir, CHECKPOINT_PLANTS, markers)
    return {"runs": runs, "run": run, "model": model, "markers": markers}


def _no_markers(markers: Path) -> None:
    assert list(markers.iterdir()) == []


def test_predict_and_resume_never_unpickle(poisoned):
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.trainer import train

    runs, run = poisoned["runs"], poisoned["run"]
    for merge in (True, False):
        predictions = Predictor.from_run(run.run_id, runs, merge=merge).predict(["good", "bad"])
        assert len(predictions) == 2
    resumed = train(TrainConfig(), runs_dir=runs, resume=run.run_id)
    assert isinstance(resumed, RunFinished) and resumed.state == "completed", resumed
    assert Predictor.from_base(run.config()).predict(["fine"])
    _no_markers(poisoned["markers"])


def test_only_pickled_adapter_is_refused(poisoned):
    from lorasent_tui.core.predict import Predictor

    run = poisoned["run"]
    (run.adapter_dir / "adapter_model.safetensors").unlink()
    with pytest.raises(RunError, match="no saved adapter"):
        Predictor.from_run(run.run_id, poisoned["runs"])
    _no_markers(poisoned["markers"])


def test_only_pickled_checkpoint_is_refused(poisoned):
    from lorasent_tui.core.trainer import train

    run = poisoned["run"]
    for name in ("trainable.safetensors", "optimizer.safetensors", "rng.safetensors"):
        (run.checkpoint_dir / name).unlink()
    result = train(TrainConfig(), runs_dir=poisoned["runs"], resume=run.run_id)
    assert isinstance(result, RunFailed), result
    assert "\n" not in result.message and "safetensors" in result.message
    _no_markers(poisoned["markers"])


def test_only_pickled_model_weights_are_refused(poisoned):
    from lorasent_tui.core import models

    (poisoned["model"] / "model.safetensors").unlink()
    with pytest.raises(ModelError) as info:
        models.load_classifier(str(poisoned["model"]), seed=0)
    assert str(poisoned["model"]) in str(info.value) and "\n" not in str(info.value)
    _no_markers(poisoned["markers"])


# -- remote code ---------------------------------------------------------------------------


def test_sources_never_trust_remote_code_or_unpickle():
    offenders = []
    patterns = [r"trust_remote_code\s*=\s*(True|1|[a-z_]+\s+or\b)", r"\btorch\.load\(",
                r"\bpickle\.loads?\(", r"weights_only\s*=\s*False", r"use_safetensors\s*=\s*False",
                r"safe_serialization\s*=\s*False", r"\bjoblib\b", r"\bdill\b"]
    for path in sorted(SOURCE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in patterns:
            for match in re.finditer(pattern, text):
                if "torch" in pattern and "weights_only=True" in text[match.end():match.end() + 200]:
                    continue  # torch's restricted unpickler: tensors only, no code
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(SOURCE)}:{line}: {match.group(0)}")
    assert offenders == []
    models_py = (SOURCE / "core" / "models.py").read_text(encoding="utf-8")
    assert 'kwargs.setdefault("trust_remote_code", False)' in models_py


EVIL_CODE = """
from pathlib import Path
Path({marker!r}).write_text("remote code ran")
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
class EvilConfig(BertConfig):
    pass
class EvilModel(BertForSequenceClassification):
    config_class = EvilConfig
class EvilTokenizer(BertTokenizerFast):
    pass
"""


def _evil_model(source: Path, folder: Path, marker: Path, model_type: str | None = None) -> Path:
    shutil.copytree(source, folder)
    (folder / "evil_code.py").write_text(EVIL_CODE.format(marker=str(marker)))
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoConfig": "evil_code.EvilConfig", "AutoModel": "evil_code.EvilModel",
                          "AutoModelForSequenceClassification": "evil_code.EvilModel"}
    if model_type:
        config["model_type"] = model_type
    (folder / "config.json").write_text(json.dumps(config))
    tok_path = folder / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text())
    tok["auto_map"] = {"AutoTokenizer": ["evil_code.EvilTokenizer", "evil_code.EvilTokenizer"]}
    tok_path.write_text(json.dumps(tok))
    return folder


def test_auto_map_to_custom_code_is_not_executed(tiny_model_dir, tmp_path):
    from lorasent_tui.core import models
    from lorasent_tui.core.trainer import train

    marker = tmp_path / "remote-code.pwned"
    folder = _evil_model(tiny_model_dir("bert"), tmp_path / "evil", marker)
    tokenizer = models.load_tokenizer(str(folder))
    model, _ = models.load_classifier(str(folder), seed=0)
    assert type(model).__module__.startswith("transformers.")
    assert type(tokenizer).__module__.startswith("transformers.")
    result = train(_config(folder, epochs=1), runs_dir=tmp_path / "runs")
    assert isinstance(result, RunFinished), result
    assert not marker.exists()


def test_custom_code_only_model_is_refused_clearly(tiny_model_dir, tmp_path):
    from lorasent_tui.core import models

    marker = tmp_path / "remote-code.pwned"
    folder = _evil_model(tiny_model_dir("bert"), tmp_path / "evil", marker, model_type="evil-bert")
    with pytest.raises(ModelError) as info:
        models.load_classifier(str(folder), seed=0)
    assert str(folder) in str(info.value) and "\n" not in str(info.value)
    try:  # the tokenizer files are plain data: loading them natively is fine, running code is not
        tokenizer = models.load_tokenizer(str(folder))
        assert type(tokenizer).__module__.startswith("transformers.")
    except ModelError as exc:
        assert "\n" not in str(exc)
    assert not marker.exists()


# -- run ids -------------------------------------------------------------------------------

ODD_IDS = ["abc\n", "abc\r", "abc\x00", "abc\t", "\nabc", "run/../../x", "..\\..\\x", "C:\\x",
           "~root", "-rf", "--help", "rün", "ｒｕｎ", "%2e%2e", "....", ".", "a/", "x" * 129,
           "abc..", "a..b", "\u202eevil", "run id"]


@pytest.mark.parametrize("bad", ODD_IDS)
def test_odd_run_ids_are_refused(tmp_path, bad):
    with pytest.raises(RunError):
        check_run_id(bad)
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError):
        store.create(TrainConfig(), run_id=bad)
    with pytest.raises(RunError):
        store.get(bad)
    with pytest.raises(RunError):
        store.delete(bad)
    assert not (tmp_path / "x").exists()
    assert [p.name for p in (tmp_path / "runs").iterdir()] == []


@pytest.mark.parametrize("ref", ["/", "/etc", "/tmp", "/nonexistent/run", "../../../etc"])
def test_paths_that_are_not_run_folders_are_refused(tmp_path, ref):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunError):
        store.get(ref)
    with pytest.raises(RunError):
        store.delete(ref)
    assert Path(ref).exists() == (ref in ("/", "/etc", "/tmp", "../../../etc"))


def test_odd_folder_names_in_the_runs_folder_are_not_listed(tmp_path):
    store = RunStore(tmp_path)
    store.create(TrainConfig(), run_id="good")
    for name in ("bad\n", "a b", "rün", ".hidden", "-x"):
        shutil.copytree(tmp_path / "good", tmp_path / name)
    assert [s.run_id for s in store.list()] == ["good"]


def test_cli_refuses_odd_run_ids(tmp_path, capsys):
    from lorasent_tui.cli import main

    for argv in (["predict", "--run", "../x", "hi"], ["predict", "--run", "a\nb", "hi"],
                 ["export", "../x", "--merged", str(tmp_path / "m")],
                 ["report", "..", "-o", str(tmp_path / "r.png")]):
        code = main([*argv, "--runs-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("lorasent-tui: error:") and "Traceback" not in err, argv
