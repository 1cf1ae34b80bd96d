"""GPU readiness in one go; ``bash bench/gpu_check.sh`` sets up Python and runs it.

    python -m bench.gpu_check

On a CUDA machine, in a few minutes: the GPU and the torch build; the fast and the seed
preset for one epoch each on IMDb 1000/1000 with the bundled model (tokens/s, accuracy, peak
GPU memory); predict latency on the GPU; and, with two or more GPUs, a 2-process run.
Writes bench/results/gpu_<gpu name>.json. Without CUDA it prints one line and exits 2.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bench.common import emit, machine
from bench.predict_latency import SHORT, latency, throughput
from bench.train_speed import run_preset

NO_GPU_EXIT = 2


def nvidia_smi() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nvidia-smi failed: {exc}"
    return out.stdout.strip() or out.stderr.strip()


def gpu_build() -> dict:
    import torch

    return {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "nvidia_smi": nvidia_smi(),
            "gpus": [{"name": torch.cuda.get_device_name(i),
                      "memory_gib": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
                      "capability": ".".join(map(str, torch.cuda.get_device_capability(i)))}
                     for i in range(torch.cuda.device_count())]}


def train_preset(preset: str, args: argparse.Namespace, runs_dir: Path) -> dict:
    import torch

    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    entry = run_preset(preset, args, runs_dir, epochs=1)
    entry["wall_s"] = time.perf_counter() - started
    entry["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return entry


def predict_latency(runs_dir: Path, device: str, repeats: int) -> dict:
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore

    (run,) = RunStore(runs_dir).list()
    reviews = load_splits(build_config({"train_size": 2, "eval_size": 1000, "seed": 1})).eval_texts
    predictor = Predictor.from_run(run.run_id, runs_dir, device=device, merge=True)
    return {"run": run.run_id, "short": latency(predictor, SHORT, repeats),
            "long": latency(predictor, max(reviews, key=len), repeats),
            "batch_reviews_per_s": throughput(predictor, reviews)}


def two_processes(args: argparse.Namespace, runs_dir: Path) -> dict:
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.events import RunFinished
    from lorasent_tui.core.launcher import train_subprocess
    from lorasent_tui.core.store import RunStore

    cfg = build_config({"preset": "fast", "model": args.model, "train_size": args.train_size,
                        "eval_size": args.eval_size, "epochs": 1, "device": "cuda", "processes": 2})
    started = time.perf_counter()
    result = train_subprocess(cfg, runs_dir=runs_dir, nproc=2)
    if not isinstance(result, RunFinished):
        return {"error": result.message}
    run = RunStore(runs_dir).get(result.run_id)
    return {"wall_s": time.perf_counter() - started, "state": result.state,
            "epoch_times": run.status().get("epoch_times"),
            "accuracy": [r["accuracy"] for r in run.metrics()]}


def main() -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    args.device = "cuda"

    import torch

    if not torch.cuda.is_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        print(f"gpu_check: torch {torch.__version__} ({build}) sees no CUDA device; nothing measured")
        return NO_GPU_EXIT
    result = {"bench": "gpu_check", "machine": machine(), **gpu_build(), "model": args.model,
              "train_size": args.train_size, "eval_size": args.eval_size}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("fast", "seed"):
            result[preset] = train_preset(preset, args, Path(tmp) / preset)
        result["predict"] = predict_latency(Path(tmp) / "fast", "cuda", args.repeats)
        if torch.cuda.device_count() >= 2:
            result["two_processes"] = two_processes(args, Path(tmp) / "ddp")
    slug = re.sub(r"[^a-z0-9]+", "-", result["gpus"][0]["name"].lower()).strip("-")
    emit(f"gpu_{slug}", result, summary_table(result))
    return 0


def summary_table(result: dict) -> list[tuple[str, ...]]:
    table = [("preset", "train s", "eval s", "tokens/s", "accuracy", "peak MiB")]
    for preset in ("fast", "seed"):
        entry = result[preset]
        table.append((preset, f"{entry['train_s_per_epoch'][0]:.1f}", f"{entry['eval_s_per_epoch'][0]:.1f}",
                      f"{entry['real_tokens_per_s']:.0f}", f"{entry['accuracy_per_epoch'][0]:.3f}",
                      f"{entry['peak_gpu_memory_mib']:.0f}"))
    short, long = result["predict"]["short"], result["predict"]["long"]
    table.append(("predict", f"short p50 {short['p50_ms']:.1f} ms", f"long p50 {long['p50_ms']:.1f} ms",
                  f"{result['predict']['batch_reviews_per_s']:.0f} reviews/s", "", ""))
    if "two_processes" in result:
        ddp = result["two_processes"]
        table.append(("2 processes", f"{ddp.get('wall_s', 0):.1f} wall", "", "",
                      str(ddp.get("accuracy", ddp.get("error"))), ""))
    return table


if __name__ == "__main__":
    sys.exit(main())
