"""Serving on CPUs: ONNX export of a run (fp32 and int8), loaded with ONNX Runtime.

Offline, with tiny models; one trained run per architecture is shared by the whole module.
"""

from __future__ import annotations

import json

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.events import RunFinished

TEXTS = ["A wonderful, moving film.", "Dull and far too long.", "I loved every minute of it!",
         "The worst acting I have seen in years.", "ok", "Not bad at all, quite charming really."]
# Far beyond max_length 32: read as the cut text plus several sliding windows.
LONG = " ".join(["The plot wanders, yet the acting is superb and the score is moving."] * 12
                + ["In the end it is a dull, tiresome mess that I cannot recommend."] * 6)


def _config(model_dir, **extra):
    return build_config({"model": str(model_dir), "precision": "fp32", "train_size": 24, "eval_size": 16,
                         "epochs": 1, "max_length": 32, "batch_size": 8, "logging_steps": 1,
                         "target_modules": "query,value", "head_learning_rate": "0.05",
                         "sliding_windows": "true", **extra})


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


def _scores(runs_dir, run_id, backend, texts):
    from lorasent_tui.core.onnx_backend import load_predictor

    predictor = load_predictor(run_id, runs_dir, backend=backend)
    assert predictor.backend.name == backend
    return [p.score for p in predictor.predict(texts, batch_size=4)]


def _cli_scores(capsys, runs_dir, run_id, backend):
    capsys.readouterr()
    code = main(["predict", *TEXTS, LONG, "--run", run_id, "--runs-dir", str(runs_dir),
                 "--backend", backend, "--json"])
    assert code == 0, capsys.readouterr().err
    return [row["score"] for row in json.loads(capsys.readouterr().out)]


def test_onnx_backend_reads_long_texts_like_torch(tiny_model_dir, tmp_path):
    """The exported graph, fed the same padded views, gives torch's probabilities (no training)."""
    import torch

    from lorasent_tui.core.onnx_backend import OnnxBackend
    from lorasent_tui.core.onnx_export import MODEL_FILE, write_onnx_model
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.views import encode_views, window_layout

    config = _config(tiny_model_dir("bert"))
    torch_predictor = Predictor.from_base(config)
    model, head = torch_predictor.model, torch_predictor.model.classifier
    with torch.no_grad():  # a random tiny encoder barely tells texts apart: sharpen its head
        head.weight.mul_(3000.0)
        logits = model(**torch_predictor.tokenizer(TEXTS, padding=True, return_tensors="pt")).logits
        head.bias[1] -= (logits[:, 1] - logits[:, 0]).mean()
    write_onnx_model(torch_predictor.model, torch_predictor.tokenizer, tmp_path / MODEL_FILE)
    torch_predictor.tokenizer.save_pretrained(tmp_path)
    torch_predictor.model.config.save_pretrained(tmp_path)
    backend = OnnxBackend(tmp_path)
    onnx_predictor = Predictor(None, backend.tokenizer, config, "onnx", backend=backend)
    views = encode_views(backend.tokenizer, [LONG], config.max_length, config.truncation, window_layout(config))
    assert len(views.ids) > 2  # the long text is read as windows

    expected = [p.score for p in torch_predictor.predict(TEXTS + [LONG], batch_size=4)]
    got = [p.score for p in onnx_predictor.predict(TEXTS + [LONG], batch_size=4)]
    assert got == pytest.approx(expected, abs=1e-3)
    assert max(expected) - min(expected) > 0.05, expected  # a head that tells texts apart
    # ...and the windows count: the long text alone, cut, scores differently.
    onnx_predictor.config = build_config({**config.to_dict(), "sliding_windows": "false"})
    assert abs(onnx_predictor.predict([LONG])[0].score - got[-1]) > 1e-4


def _check_parity(runs_dir, run_id):
    torch_scores = _scores(runs_dir, run_id, "torch", TEXTS + [LONG])
    assert _scores(runs_dir, run_id, "onnx", TEXTS + [LONG]) == pytest.approx(torch_scores, abs=1e-3)
    return torch_scores


# -- export, load with ONNX Runtime, same probabilities as torch --------------------------------

def _export_and_compare(arch, trained, capsys):
    import onnxruntime as ort

    from lorasent_tui.core.export import EXPORT_MARKER

    runs_dir, run_id = trained(arch)
    assert main(["export", run_id, "--onnx", "--runs-dir", str(runs_dir)]) == 0
    out = runs_dir / run_id / "onnx"
    assert str(out) in capsys.readouterr().out
    assert {"model.onnx", "config.json", "tokenizer.json", EXPORT_MARKER} <= {p.name for p in out.iterdir()}
    assert not any(p.name.startswith(".") for p in (runs_dir / run_id).iterdir())  # no staging left
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert config["label2id"] == {"negative": 0, "positive": 1}
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    inputs = [node.name for node in session.get_inputs()]
    assert inputs[:2] == ["input_ids", "attention_mask"]
    assert ("token_type_ids" in inputs) == (arch != "distilbert")
    assert [node.name for node in session.get_outputs()] == ["logits"]
    return runs_dir, run_id, _check_parity(runs_dir, run_id)


@pytest.mark.slow
def test_onnx_export_of_tiny_bert_matches_torch_and_serves_predict(trained, capsys):
    runs_dir, run_id, torch_scores = _export_and_compare("bert", trained, capsys)
    assert _cli_scores(capsys, runs_dir, run_id, "onnx") == pytest.approx(torch_scores, abs=1e-3)
    assert _cli_scores(capsys, runs_dir, run_id, "auto") == pytest.approx(torch_scores, abs=1e-3)

    # An export of an older best epoch is not used: auto falls back to torch, onnx says why.
    from lorasent_tui.core.onnx_backend import load_predictor
    from lorasent_tui.core.store import RunStore

    run = RunStore(runs_dir).get(run_id)
    best = run.status()["best_epoch"]
    run.update_status(best_epoch=best + 1)
    try:
        assert load_predictor(run_id, runs_dir, backend="auto").backend.name == "torch"
        with pytest.raises(LorasentError, match="not of its best epoch"):
            load_predictor(run_id, runs_dir, backend="onnx")
    finally:
        run.update_status(best_epoch=best)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["distilbert", "albert"])
def test_onnx_export_of_other_architectures_matches_torch(arch, trained, capsys):
    _export_and_compare(arch, trained, capsys)


# -- int8 ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_int8_export_replaces_an_earlier_export_loads_and_predicts(trained, tmp_path, capsys):
    from lorasent_tui.core.export import EXPORT_MARKER
    from lorasent_tui.core.onnx_backend import OnnxBackend
    from lorasent_tui.core.predict import Predictor

    runs_dir, run_id = trained("bert")
    out = tmp_path / "served"
    assert main(["export", run_id, "--onnx", str(out), "--runs-dir", str(runs_dir)]) == 0
    fp32_size = (out / "model.onnx").stat().st_size
    (out / "stale.txt").write_text("from an older export")
    assert main(["export", run_id, "--onnx", str(out), "--quantize", "int8",
                 "--runs-dir", str(runs_dir)]) == 0
    assert "(int8)" in capsys.readouterr().out
    assert not (out / "stale.txt").exists()  # an earlier export is replaced whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]
    assert json.loads((out / EXPORT_MARKER).read_text())["quantization"] == "int8"
    assert (out / "model.onnx").stat().st_size < fp32_size
    assert not any("fp32" in p.name or "prepared" in p.name for p in out.iterdir())

    torch_predictor = Predictor.from_run(run_id, runs_dir)
    backend = OnnxBackend(out)
    assert backend.describe() == "onnx int8"
    int8 = Predictor(None, backend.tokenizer, torch_predictor.config, "int8", backend=backend)
    expected = torch_predictor.predict(TEXTS + [LONG])
    for want, got in zip(expected, int8.predict(TEXTS + [LONG])):
        assert got.score == pytest.approx(want.score, abs=0.02), want.text
        if abs(want.score - 0.5) > 0.02:
            assert got.label == want.label, want.text


# -- where an export may go, and clear errors ---------------------------------------------------

def test_export_refusals_and_missing_onnx_export_are_clear_errors(tiny_model_dir, tmp_path, capsys):
    from lorasent_tui.core.store import RunStore

    runs_dir = tmp_path / "runs"
    run = RunStore(runs_dir).create(_config(tiny_model_dir("bert")), run_id="fresh")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    cases = [
        (["--onnx", str(foreign)], "not empty"),
        (["--onnx", str(run.path / "elsewhere")], "inside the run folder"),
        ([], "nothing to export"),
        (["--merged", str(tmp_path / "m"), "--quantize", "int8"], "--quantize applies to --onnx"),
    ]
    for flags, message in cases:
        capsys.readouterr()
        assert main(["export", "fresh", *flags, "--runs-dir", str(runs_dir)]) == 2, flags
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (flags, err)
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "m").exists() and not (run.path / "onnx").exists()

    assert main(["predict", "good", "--run", "fresh", "--runs-dir", str(runs_dir), "--backend", "onnx"]) == 2
    assert "has no ONNX export; run: lorasent-tui export fresh --onnx" in capsys.readouterr().err
    with pytest.raises(LorasentError, match="runs on the CPU"):
        from lorasent_tui.core.onnx_backend import load_predictor

        load_predictor("fresh", runs_dir, device="cuda", backend="onnx")


# -- optimum's ORT model class and a transformers pipeline ---------------------------------------

@pytest.mark.slow
def test_export_loads_with_optimum_in_a_pipeline(trained, tmp_path):
    # optimum-onnx (0.1) requires transformers < 4.58, so this runs only where it is installed.
    pytest.importorskip("optimum.onnxruntime")
    from optimum.onnxruntime import ORTModelForSequenceClassification
    from transformers import AutoTokenizer, pipeline

    from lorasent_tui.core.onnx_export import export_onnx

    runs_dir, run_id = trained("bert")
    out = export_onnx(run_id, tmp_path / "served", runs_dir=runs_dir)
    model = ORTModelForSequenceClassification.from_pretrained(out)
    classifier = pipeline("text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(out),
                          top_k=None, function_to_apply="softmax")
    expected = _scores(runs_dir, run_id, "torch", TEXTS)
    for scores, want in zip(classifier(TEXTS), expected):
        assert {s["label"]: s["score"] for s in scores}["positive"] == pytest.approx(want, abs=1e-3)
