"""Training throughput: the reference recipe (preset seed) vs the fast preset, same model, data
and machine, in one run.

    python -m bench.train_speed --quick        # a few minutes on a 2-core CPU
    python -m bench.train_speed                # IMDb 1000/1000, one epoch of each
    python -m bench.train_speed --fast-only    # the fast preset's epoch alone
    python -m bench.train_speed --device cuda  # on a GPU

Reports seconds per epoch, real (non-padding) tokens/s, achieved GFLOP/s against the measured
matrix-product peak, validation accuracy per epoch, and the ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from bench.common import emit, lora_flops_per_token, machine, matmul_peak_gflops, training_flops


def run_preset(preset: str, args: argparse.Namespace, runs_dir: Path, epochs: int) -> dict:
    from lorasent_tui.core import models
    from lorasent_tui.core.batching import encode_texts
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.events import RunFinished
    from lorasent_tui.core.frozen_prefix import can_cache
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train

    cfg = build_config({"preset": preset, "model": args.model, "train_size": args.train_size,
                        "eval_size": args.eval_size, "epochs": epochs, "device": args.device})
    result = train(cfg, runs_dir=runs_dir)
    if not isinstance(result, RunFinished):
        raise SystemExit(f"{preset}: {result.message}")
    run = RunStore(runs_dir).get(result.run_id)
    status = run.status()
    tokenizer = models.load_tokenizer(cfg.model)
    base, head = models.load_classifier(cfg.model, cfg.seed)
    lengths = [len(x) for x in encode_texts(tokenizer, load_splits(cfg).train_texts, cfg.max_length,
                                            cfg.truncation)]
    first = models.first_adapted_layer(base, cfg.lora_layers)
    cached = first > 0 and can_cache(base, first, lengths)
    lora = lora_flops_per_token(models.build_lora_model(base, cfg, head))
    flops = training_flops(base.config, lengths, first, cached, lora)
    times = status["epoch_times"]
    train_s = [t["train_s"] for t in times]
    setup = status.get("setup_times", {})
    mean_train = sum(train_s) / len(train_s)
    return {
        "preset": preset, "config": cfg.to_dict(), "epochs": epochs,
        "precision": status.get("precision", "fp32"),
        "train_s_per_epoch": train_s, "eval_s_per_epoch": [t["eval_s"] for t in times],
        "cache_s": setup.get("cache_frozen_layers", 0.0), "tokenize_s": setup.get("prepare_data", 0.0),
        "real_tokens_per_epoch": sum(lengths),
        "real_tokens_per_s": sum(lengths) / mean_train,
        "gflop_per_epoch": flops / 1e9, "gflops_achieved": flops / mean_train / 1e9,
        "accuracy_per_epoch": [r["accuracy"] for r in run.metrics()],
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200/200 reviews, one epoch each")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-size", type=int)
    parser.add_argument("--eval-size", type=int)
    parser.add_argument("--fast-epochs", type=int, default=1)
    parser.add_argument("--fast-only", action="store_true",
                        help="skip the reference recipe's epoch (10 minutes on a 2-core CPU)")
    args = parser.parse_args()
    args.train_size = args.train_size or (200 if args.quick else 1000)
    args.eval_size = args.eval_size or (200 if args.quick else 1000)
    peak_device = "cuda" if args.device.startswith("cuda") else "cpu"
    peak = matmul_peak_gflops(peak_device)
    peak_bf16 = matmul_peak_gflops(peak_device, dtype_name="bf16")
    with tempfile.TemporaryDirectory() as tmp:
        seed = None if args.fast_only else run_preset("seed", args, Path(tmp), epochs=1)
        fast = run_preset("fast", args, Path(tmp), epochs=args.fast_epochs)
    entries = [entry for entry in (seed, fast) if entry]
    for entry in entries:
        entry["fraction_of_matmul_peak"] = entry["gflops_achieved"] / peak
        # The same rate against the peak of the precision the run actually computed in.
        own_peak = peak_bf16 if entry["precision"] == "bf16" else peak
        entry["fraction_of_own_precision_peak"] = entry["gflops_achieved"] / own_peak
    mode = "fast" if args.fast_only else "quick" if args.quick else "full"
    result = {
        "bench": "train_speed", "mode": mode, "machine": machine(),
        "device": args.device, "model": args.model, "train_size": args.train_size,
        "eval_size": args.eval_size, "matmul_peak_gflops": peak, "matmul_peak_gflops_bf16": peak_bf16,
        "seed": seed, "fast": fast,
    }
    if seed:
        seed_epoch = seed["train_s_per_epoch"][0]
        fast_epoch = sum(fast["train_s_per_epoch"]) / len(fast["train_s_per_epoch"])
        result.update(speedup_epoch=seed_epoch / fast_epoch,
                      speedup_epoch_with_cache=seed_epoch / (fast_epoch + fast["cache_s"] / fast["epochs"]),
                      speedup_tokens_per_s=fast["real_tokens_per_s"] / seed["real_tokens_per_s"])
    table = [("preset", "train s/epoch", "eval s", "tokens/s", "GFLOP/s", "% fp32 peak", "% own peak",
              "acc/epoch")]
    for entry in entries:
        table.append((entry["preset"], f"{sum(entry['train_s_per_epoch']) / entry['epochs']:.1f}",
                      f"{entry['eval_s_per_epoch'][0]:.1f}", f"{entry['real_tokens_per_s']:.0f}",
                      f"{entry['gflops_achieved']:.1f}", f"{100 * entry['fraction_of_matmul_peak']:.0f}%",
                      f"{100 * entry['fraction_of_own_precision_peak']:.0f}% {entry['precision']}",
                      " ".join(f"{a:.3f}" for a in entry["accuracy_per_epoch"])))
    if seed:
        table.append(("speed-up", f"{result['speedup_epoch']:.2f}x", "", f"{result['speedup_tokens_per_s']:.2f}x",
                      "", "", "", ""))
    table.append(("peaks", f"{peak:.0f} fp32", f"{peak_bf16:.0f} bf16", "", "", "", "", ""))
    emit(f"train_speed_{mode}_{args.device.split(':')[0]}", result, table)


if __name__ == "__main__":
    main()
