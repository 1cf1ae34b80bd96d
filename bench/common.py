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


def cpu_flags() -> list[str]:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    return [flag for flag in SPEED_FLAGS if flag in flags]


def machine() -> dict[str, Any]:
    import torch

    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "torch": torch.__version__}
    # Virtual machines often name every EPYC "AMD EPYC": the family tells Zen 4 (25) from Zen 5
    # (26), whose bf16 products run twice as fast.
    fields = {"model name": "cpu", "cpu family": "cpu_family", "model": "cpu_model"}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break  # the first processor's block names them all
            key, _, value = line.partition(":")
            if key.strip() in fields:
                info[fields[key.strip()]] = value.strip()
    except OSError:
        pass
    info["cpu_flags"] = cpu_flags()  # the CPU varies between sessions: every figure names its flags
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
