"""Attention implementation against step cost on this machine: a fast-preset training step
(LoRA model, bf16 autocast where native, batch 8) and an evaluation forward (batch 32), with
PyTorch's fused SDPA kernel and with transformers' eager attention (plain matrix products).

    python -m bench.attention_speed

Each figure is the best of several repetitions (the machine may be shared).
"""

from __future__ import annotations

import time
import warnings

from bench.common import emit, machine


def build(implementation: str):
    from lorasent_tui.core import models
    from lorasent_tui.core.config import build_config

    config = build_config({"preset": "fast"})
    base, head = models.load_classifier(config.model, config.seed, ("negative", "positive"))
    base.set_attn_implementation(implementation)
    model = models.build_lora_model(base, config, head)
    return model


def best_seconds(model, batch: int, length: int, train: bool, precision: str, repeats: int) -> float:
    import torch
    import torch.nn.functional as F

    from lorasent_tui.core.precision import autocast

    ids = torch.randint(1000, 20000, (batch, length))
    mask = torch.ones_like(ids)
    mask[0, length // 2:] = 0  # a padded row, as in length-bucketed batches
    labels = torch.randint(0, 2, (batch,))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    best = float("inf")
    for _ in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        if train:
            model.train()
            with autocast(precision, torch.device("cpu")):
                logits = model(input_ids=ids, attention_mask=mask).logits
            F.cross_entropy(logits.float(), labels).backward()
            optimizer.step()
            optimizer.zero_grad()
        else:
            model.eval()
            with torch.inference_mode(), autocast(precision, torch.device("cpu")):
                model(input_ids=ids, attention_mask=mask)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    warnings.filterwarnings("ignore")
    from lorasent_tui.core.precision import resolve_precision

    import torch

    rows, table = [], [("attention", "precision", "train step L256", "train step L128", "eval ms/view L256")]
    for precision in dict.fromkeys((resolve_precision("auto", torch.device("cpu")), "fp32")):
        for implementation in ("sdpa", "eager"):
            model = build(implementation)
            row = {"attention": implementation, "precision": precision,
                   "train_step_s_L256": best_seconds(model, 8, 256, True, precision, 5),
                   "train_step_s_L128": best_seconds(model, 8, 128, True, precision, 5),
                   "eval_ms_per_view_L256": best_seconds(model, 32, 256, False, precision, 4) / 32 * 1000}
            rows.append(row)
            table.append((implementation, precision, f"{row['train_step_s_L256']:.3f} s",
                          f"{row['train_step_s_L128']:.3f} s", f"{row['eval_ms_per_view_L256']:.1f}"))
    emit("attention_speed", {"bench": "attention_speed", "machine": machine(), "rows": rows}, table)


if __name__ == "__main__":
    main()
