"""Resumable per-epoch checkpoints, safetensors and JSON only (nothing is ever unpickled).

A checkpoint is written to a staging folder and marked complete, then fsynced and renamed over
the previous one (``fsutil.staged_dir``); a folder without the marker is never used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lorasent_tui.core.fsutil import resolve_dir, staged_dir

COMPLETE_MARKER = "COMPLETE"


def _trainable(model: Any) -> dict[str, Any]:
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


AVERAGE_FILE = "average.safetensors"


def save_checkpoint(folder: Path, model: Any, optimizer: Any, scheduler: Any, state: dict,
                    average: Any = None) -> None:
    """``average``: the run's weight_average.WeightAverage, if it has one."""
    import torch
    from safetensors.torch import save_file

    with staged_dir(Path(folder)) as staging:
        weights = {n: p.detach().to("cpu").contiguous() for n, p in _trainable(model).items()}
        save_file(weights, staging / "trainable.safetensors")
        opt = optimizer.state_dict()
        tensors = {}
        for index, slots in opt["state"].items():
            for key, value in slots.items():
                value = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"{index}.{key}"] = value.detach().to("cpu").contiguous()
        save_file(tensors, staging / "optimizer.safetensors")
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                rng[f"cuda{i}"] = s
        save_file(rng, staging / "rng.safetensors")
        meta = {**state, "param_groups": opt["param_groups"], "scheduler": scheduler.state_dict()}
        if average is not None:
            save_file(average.tensors(), staging / AVERAGE_FILE)
            meta["average_updates"] = average.updates
        meta["scheduler"].pop("lr_lambdas", None)
        (staging / "state.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        (staging / COMPLETE_MARKER).write_text("ok\n", encoding="utf-8")


def checkpoint_state(folder: Path) -> dict | None:
    """The state of the last complete checkpoint, or None."""
    found = resolve_dir(Path(folder))
    if found is None or not (found / COMPLETE_MARKER).is_file():
        return None
    try:
        return json.loads((found / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_checkpoint(folder: Path, model: Any, optimizer: Any, scheduler: Any, average: Any = None) -> dict:
    import torch
    from safetensors.torch import load_file

    found = resolve_dir(Path(folder))
    if found is None or not (found / COMPLETE_MARKER).is_file():
        raise FileNotFoundError(f"no complete checkpoint in {folder}")
    meta = json.loads((found / "state.json").read_text(encoding="utf-8"))
    params = _trainable(model)
    weights = load_file(found / "trainable.safetensors")
    if set(weights) != set(params):
        raise ValueError("checkpoint weights do not match the model's trainable parameters")
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value.to(params[name].device))
    slots: dict[int, dict[str, Any]] = {}
    device = next(iter(params.values())).device
    for key, value in load_file(found / "optimizer.safetensors").items():
        index, slot = key.split(".", 1)
        target = value if slot == "step" else value.to(device)
        slots.setdefault(int(index), {})[slot] = target
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    sched_state = dict(meta["scheduler"])
    if hasattr(scheduler, "lr_lambdas"):
        # Not saved (plain functions are not state); LambdaLR.load_state_dict requires the key.
        sched_state.setdefault("lr_lambdas", [None] * len(scheduler.lr_lambdas))
    scheduler.load_state_dict(sched_state)
    rng = load_file(found / "rng.safetensors")
    torch.set_rng_state(rng["cpu"])
    if torch.cuda.is_available():
        cuda_states = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
        if cuda_states:
            torch.cuda.set_rng_state_all(cuda_states)
    if average is not None:
        average.load(load_file(found / AVERAGE_FILE), meta["average_updates"])
    return meta
