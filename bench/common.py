"""Shared pieces of the benchmarks: machine description, matmul peak, FLOP model, output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


# Where these are present, torch computes bf16 (AVX512-BF16, AMX) or int8 (VNNI, AMX) natively.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo, key to value (every core repeats it)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_identity(fields: dict[str, str]) -> dict[str, Any]:
    """Name, family, model and speed-relevant flags of a CPU, from ``cpuinfo_fields``.

    Virtual machines often name every EPYC "AMD EPYC": the family tells Zen 4 (25) from Zen 5
    (26), whose bf16 products run twice as fast."""
    names = {"model name": "cpu", "cpu family": "cpu_family", "model": "cpu_model"}
    identity: dict[str, Any] = {names[key]: value for key, value in fields.items() if key in names}
    flags = fields.get("flags", "").split()
    identity["cpu_flags"] = [flag for flag in SPEED_FLAGS if flag in flags]
    return identity


def machine() -> dict[str, Any]:
    import torch

    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    # The CPU varies between sessions: every figure names it and its flags.
    info.update(cpu_identity(cpuinfo_fields(cpuinfo)))
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def matmul_peak_gflops(device: str = "cpu", size: int = 1024, seconds: float = 3.0,
                       dtype_name: str = "fp32") -> float:
    """Best matrix-product rate over a few seconds (the yardstick for training FLOP/s)."""
    import torch

    dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = max(best, 4 * 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def _layers(config: Any, layers: int | None) -> int:
    return layers if layers is not None else (getattr(config, "num_hidden_layers", None) or config.n_layers)


def _hidden(config: Any) -> int:
    return getattr(config, "hidden_size", None) or config.dim  # BERT/ALBERT, DistilBERT


def attention_flops_per_token(config: Any, seq_len: float, layers: int | None = None) -> float:
    """FLOPs per token of attention's two batched products (scores, then the values) forward."""
    return _layers(config, layers) * 4 * seq_len * _hidden(config)


def forward_flops_per_token(config: Any, seq_len: float, layers: int | None = None) -> float:
    """Matrix-product FLOPs of one encoder forward per token (embeddings and softmax ignored)."""
    d = _hidden(config)
    ff = getattr(config, "intermediate_size", None) or config.hidden_dim
    linear = _layers(config, layers) * 2 * (4 * d * d + 2 * d * ff)
    return linear + attention_flops_per_token(config, seq_len, layers)


def lora_flops_per_token(model: Any) -> float:
    """FLOPs per token of the LoRA products of a peft model's forward: each adapted projection
    multiplies by A (in x r) and then B (r x out)."""
    from peft.tuners.lora import LoraLayer

    total = 0.0
    for module in model.modules():
        if isinstance(module, LoraLayer):
            for name in module.active_adapters:
                if name in module.r:
                    total += 2 * module.r[name] * (module.in_features + module.out_features)
    return total


def training_flops(config: Any, lengths: list[int], first_adapted_layer: int = 0,
                   cached: bool = False, lora_per_token: float = 0.0) -> float:
    """FLOPs of one training epoch: forward everywhere it runs, activation gradients above
    the lowest adapted layer (frozen layers below need none), nothing below when cached.

    A frozen linear layer's backward is one product (its input's gradient), as much as its
    forward; attention's products have two activation inputs each, so their backward is two.
    LoRA's products (``lora_per_token``, forward) train both factors: their backward is two
    products for the weights' gradients and two for the activations', twice their forward."""
    total = 0.0
    n = _layers(config, None)
    for length in lengths:
        adapted = n - first_adapted_layer
        upper = (forward_flops_per_token(config, length, adapted) * 2
                 + attention_flops_per_token(config, length, adapted) + 3 * lora_per_token)
        lower = 0.0 if cached else forward_flops_per_token(config, length, first_adapted_layer)
        total += (upper + lower) * length
    return total


def emit(name: str, result: dict[str, Any], table: list[tuple[str, ...]], save: bool = True) -> None:
    """Print JSON then a short table; keep the JSON in bench/results/."""
    text = json.dumps(result, indent=2)
    print(text)
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    print()
    for row in table:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)))
    if save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(text + "\n")
    sys.stdout.flush()
