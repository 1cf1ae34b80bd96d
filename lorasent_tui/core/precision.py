"""Mixed precision: bf16 autocast where the hardware computes bf16 natively, fp32 elsewhere.

On CPUs with AVX512-BF16 or AMX, oneDNN's bf16 matrix products run 2-3x faster than fp32;
the LoRA weights, optimizer state and losses stay in fp32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16")


def bf16_native(device: Any) -> bool:
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(name: str, device: Any) -> str:
    if name == "auto":
        return "bf16" if bf16_native(device) else "fp32"
    return name


def autocast(precision: str, device: Any) -> Any:
    import torch

    if precision == "bf16" and device.type in ("cpu", "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def bf16_frozen_bases(model: Any, precision: str) -> Iterator[int]:
    """For training steps under bf16 autocast: the frozen base weights and biases of ``model``'s
    LoRA layers held as bf16 copies within the block, the fp32 originals put back after it;
    yields how many layers (0 outside bf16, where nothing changes).

    Autocast keeps its bf16 copy of a weight only for tensors that require grad, so it casts
    every frozen base weight anew at each use: 10.6 million values read and written a step in
    the fast preset. A copy made once holds the same bits (the same rounding), so training is
    unchanged; a fixed-shape fast-preset step is 5% shorter (whole epochs, within the machine's
    noise: README, "Measured"). Scoring merges the LoRA weights into the fp32 originals, so it
    runs outside the block."""
    from peft.tuners.lora import LoraLayer

    if precision != "bf16":
        yield 0
        return
    import torch

    bases = [m.get_base_layer() for m in model.modules() if isinstance(m, LoraLayer)]
    frozen = [p for base in bases for p in (base.weight, getattr(base, "bias", None))
              if p is not None and not p.requires_grad and p.dtype == torch.float32]
    originals = [p.data for p in frozen]
    for param in frozen:
        param.data = param.data.to(torch.bfloat16)
    try:
        yield len(bases)
    finally:
        for param, original in zip(frozen, originals):
            param.data = original
