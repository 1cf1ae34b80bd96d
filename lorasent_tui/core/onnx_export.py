"""Serve a run on CPUs: its merged model as ONNX, optionally with dynamic int8 weights.

The folder follows the layout optimum's ``ORTModelForSequenceClassification`` loads:
``model.onnx`` (inputs ``input_ids``, ``attention_mask`` and, where the model takes it,
``token_type_ids``; output ``logits``), ``config.json`` with the run's class names, and
the tokenizer. optimum's exporter (optimum-onnx 0.1) requires transformers < 4.58, so the graph
comes from PyTorch's own exporter (``torch.onnx.export``, dynamo) and the int8 weights from ONNX
Runtime's ``quantize_dynamic``.

A run's own export lives in ``RUN/onnx``; ``predict --backend onnx`` reads it from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.export import EXPORT_MARKER, build_merged, check_export_target
from lorasent_tui.core.fsutil import atomic_write_text, staged_dir
from lorasent_tui.core.store import Run, RunStore, now_iso

ONNX_DIR = "onnx"  # a run's own ONNX export, inside the run folder
MODEL_FILE = "model.onnx"
QUANTIZATIONS = ("int8",)
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def run_onnx_dir(run: Run) -> Path:
    return run.path / ONNX_DIR


def graph_inputs(model: Any) -> list[str]:
    """The inputs the model's forward takes (DistilBERT has no ``token_type_ids``)."""
    import inspect

    accepted = inspect.signature(model.forward).parameters
    return [name for name in INPUT_NAMES if name in accepted]


def _logits_module(model: Any, names: list[str]) -> Any:
    """``model`` as a module whose positional inputs are ``names`` and whose output is the logits."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # noqa: ANN001
            inputs = dict(zip(names, (input_ids, attention_mask, token_type_ids)))
            return self.model(**inputs).logits

    return LogitsOnly()


def write_onnx_model(model: Any, tokenizer: Any, path: Path) -> None:
    """Export ``model`` (fp32) to ``path`` with dynamic batch and sequence axes."""
    import logging
    import warnings

    import torch

    # Traced from eager attention, the graph is plain matrix products and a softmax that ONNX
    # Runtime fuses and int8 quantizes well; traced from SDPA, it carries SDPA's masking
    # (IsNaN/Where) and served fewer reviews per second in int8 (see the README's serving table).
    model.set_attn_implementation("eager")
    names = graph_inputs(model)
    sample = tokenizer(["a short review", "a somewhat longer review of a film, to trace with"],
                       padding=True, return_tensors="pt")
    args = tuple(sample[name] if name in sample else torch.zeros_like(sample["input_ids"])
                 for name in names)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # e.g. "torchvision is not installed": not ours to fix
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(_logits_module(model.float().eval(), names), args, str(path),
                              input_names=names, output_names=["logits"],
                              dynamic_shapes={name: {0: batch, 1: sequence} for name in names},
                              dynamo=True, external_data=False, verbose=False)
    finally:
        exporter_log.setLevel(level)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic quantization: int8 weights (per channel), activations quantized per batch at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = target.with_name(f"{target.stem}_prepared.onnx")
    # ONNX Runtime's recommended preparation (graph optimisation, shape inference); its symbolic
    # shape inference cannot follow the dynamo graph's shapes, and ONNX's own inference suffices.
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    quantize_dynamic(str(prepared), str(target), weight_type=QuantType.QInt8, per_channel=True)
    prepared.unlink()


def export_onnx(ref: str, out_dir: Path | str | None = None, runs_dir: Path | str = "runs",
                quantize: str | None = None) -> Path:
    """Write run ``ref``'s best adapter, merged, as an ONNX model folder; returns the folder.

    ``out_dir`` defaults to the run's own ``onnx`` folder. The same rules as the merged export
    apply: a non-empty folder that is not an earlier export is refused, and the folder is
    written beside its target and renamed into place.
    """
    if quantize not in (None, *QUANTIZATIONS):
        raise LorasentError(f"--quantize {quantize}: choose one of {', '.join(QUANTIZATIONS)}")
    run = RunStore(runs_dir).get(ref)
    inside_run = out_dir is None
    out_dir = run_onnx_dir(run) if out_dir is None else Path(out_dir).expanduser()
    check_export_target(out_dir, run, inside_run=inside_run)
    model, tokenizer = build_merged(run)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with staged_dir(out_dir) as staging:
            fp32 = staging / (f"{Path(MODEL_FILE).stem}_fp32.onnx" if quantize else MODEL_FILE)
            write_onnx_model(model, tokenizer, fp32)
            if quantize:
                quantize_int8(fp32, staging / MODEL_FILE)
                fp32.unlink()
            model.config.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
            atomic_write_text(staging / EXPORT_MARKER, json.dumps({
                "run_id": run.run_id, "run_dir": str(run.path.resolve()), "format": "onnx",
                "quantization": quantize, "base_model": run.config().model,
                "best_epoch": run.status().get("best_epoch"), "exported_at": now_iso()}, indent=2) + "\n")
            check_export_target(out_dir, run, inside_run=inside_run)  # something may have appeared
            if out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
    except OSError as exc:
        raise LorasentError(f"cannot write export to {out_dir}: {exc.strerror or exc}") from None
    return out_dir


def export_info(folder: Path) -> dict[str, Any]:
    """What an ONNX export records about itself (run, best epoch, quantization)."""
    try:
        info = json.loads((folder / EXPORT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
