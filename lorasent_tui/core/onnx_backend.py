"""ONNX Runtime as a prediction backend: a run's ONNX export (``core/onnx_export``) on the CPU.

The Predictor pads the views and combines their verdicts as with torch; only the forward pass
runs here, so both backends read long texts the same way. ``load_predictor`` picks the backend
of a run's Predictor (the CLI's ``predict --backend``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lorasent_tui.core.errors import LorasentError, RunError
from lorasent_tui.core.fsutil import resolve_dir
from lorasent_tui.core.onnx_export import MODEL_FILE, export_info, run_onnx_dir
from lorasent_tui.core.predict import Predictor, run_decision
from lorasent_tui.core.store import Run, RunStore

# "auto": the run's ONNX export when it has a current one (and the device is the CPU), else torch.
BACKENDS = ("torch", "onnx", "auto")


def onnx_model_dir(run: Run, device: str = "cpu", required: bool = False) -> Path | None:
    """The run's ONNX export if it is complete and of the run's current best epoch.

    None when there is none (or ``device`` is not the CPU); with ``required``, a LorasentError
    that says why instead.
    """
    folder = resolve_dir(run_onnx_dir(run))
    problem = None
    if str(device) != "cpu":
        problem = f"the ONNX backend runs on the CPU, not on {device}"
    elif folder is None or not (folder / MODEL_FILE).is_file():
        problem = f"run {run.run_id} has no ONNX export; run: lorasent-tui export {run.run_id} --onnx"
    else:
        try:
            best = run.status().get("best_epoch")
        except RunError:
            best = None
        if export_info(folder).get("best_epoch") != best:
            problem = (f"the ONNX export of run {run.run_id} is not of its best epoch ({best}); "
                       f"run: lorasent-tui export {run.run_id} --onnx")
    if problem is None:
        return folder
    if required:
        raise LorasentError(problem)
    return None


class OnnxBackend:
    """An ONNX Runtime session on an exported model folder (model.onnx, config, tokenizer)."""

    name = "onnx"

    def __init__(self, folder: Path):
        import onnxruntime as ort
        import torch

        from lorasent_tui.core import models

        self.folder = Path(folder)
        self.quantization = export_info(self.folder).get("quantization")
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the same threads as torch would use
        try:
            self.session = ort.InferenceSession(str(self.folder / MODEL_FILE), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign model file, in whatever way
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise RunError(f"{self.folder / MODEL_FILE} cannot be loaded ({first}); export again") from None
        self.inputs = [node.name for node in self.session.get_inputs()]
        self.tokenizer = models.load_tokenizer(str(self.folder))

    def describe(self) -> str:
        return f"onnx {self.quantization}" if self.quantization else "onnx"

    def logits(self, batch: dict[str, Any]) -> Any:
        import numpy as np
        import torch

        ids = batch["input_ids"].numpy()
        feed = {name: batch[name].numpy() if name in batch else np.zeros_like(ids) for name in self.inputs}
        return torch.from_numpy(self.session.run(["logits"], feed)[0]).float()


def load_predictor(ref: str, runs_dir: Path | str = "runs", device: str = "cpu",
                   backend: str = "torch", merge: bool = True) -> Predictor:
    """A run's Predictor on ``backend``: torch, onnx (its ONNX export), or auto (onnx if current)."""
    if backend not in BACKENDS:
        raise LorasentError(f"--backend {backend}: choose one of {', '.join(BACKENDS)}")
    run = RunStore(runs_dir).get(ref)
    folder = None if backend == "torch" else onnx_model_dir(run, device, required=backend == "onnx")
    if folder is None:
        return Predictor.from_run(ref, runs_dir, device=device, merge=merge)
    onnx = OnnxBackend(folder)
    return Predictor(None, onnx.tokenizer, run.config(), f"{run.run_id} ({onnx.describe()})", "cpu",
                     backend=onnx, **run_decision(run))
