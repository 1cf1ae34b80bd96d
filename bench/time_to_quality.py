"""Time to quality on IMDb 1000/1000 with the bundled model: the reference recipe's best
validation accuracy and the wall time it took, then the wall time the fast preset needs to
reach that accuracy and to reach 0.88.

    python -m bench.time_to_quality                 # both (the reference takes ~2 h on 2 cores)
    python -m bench.time_to_quality --fast-only     # reuse bench/results/time_to_quality_reference.json
    python -m bench.time_to_quality --reference-run runs/RUN    # reference from a seed run
    python -m bench.time_to_quality --reference-run runs/RUN --fast-from bench/results/time_to_quality.json

``--reference-run`` takes the reference's accuracy per epoch from a finished (or partly
finished) ``train --preset seed`` run, e.g. one left running in the background at low
priority, and its time from the idle per-epoch seconds of
``bench/results/train_speed_full_cpu.json``: a run that shared the CPU has the right
accuracies (the CPU math is deterministic) but the wrong wall times.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

from bench.common import RESULTS, emit, machine

REFERENCE_FILE = RESULTS / "time_to_quality_reference.json"
SPEED_FILE = RESULTS / "train_speed_full_cpu.json"
REFERENCE_EPOCHS = 10


def timed_run(values: dict, runs_dir: Path) -> list[dict]:
    """Per evaluated epoch: accuracy and wall seconds since the run started (setup included)."""
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.events import RunFinished, TrainCallbacks
    from lorasent_tui.core.trainer import train

    points: list[dict] = []
    start = time.monotonic()

    def on_epoch(event) -> None:
        points.append({"epoch": event.metrics["epoch"], "accuracy": event.metrics["accuracy"],
                       "wall_s": round(time.monotonic() - start, 1)})
        print(f"  epoch {event.metrics['epoch']}: accuracy {event.metrics['accuracy']:.4f} "
              f"at {points[-1]['wall_s']:.0f} s", flush=True)

    result = train(build_config(values), runs_dir=runs_dir, callbacks=TrainCallbacks(on_epoch=on_epoch))
    if not isinstance(result, RunFinished):
        raise SystemExit(result.message)
    return points


def reference_from_run(run_dir: Path, speed_file: Path = SPEED_FILE) -> dict:
    """Reference points from a seed run's metrics, timed with train_speed's idle epoch cost."""
    config = json.loads((run_dir / "config.json").read_text())
    if config.get("preset") != "seed" or config.get("train_size") != 1000 or config.get("eval_size") != 1000:
        raise SystemExit(f"{run_dir} is not a seed-preset run on 1000/1000 reviews")
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"{run_dir} has no finished epoch yet")
    speed = json.loads(speed_file.read_text())["seed"]
    epoch_s = speed["train_s_per_epoch"][0] + speed["eval_s_per_epoch"][0]
    # Set-up (model load, tokenizing) is not counted: the run's own was timed on a shared CPU,
    # and leaving it out only makes the reference look faster than it is.
    points = [{"epoch": r["epoch"], "accuracy": r["accuracy"], "wall_s": round(r["epoch"] * epoch_s, 1)}
              for r in rows]
    best = max(points, key=lambda p: p["accuracy"])
    return {"machine": machine(), "points": points, "best_accuracy": best["accuracy"],
            "wall_s_to_best": best["wall_s"], "epochs_done": len(points),
            "complete": len(points) >= REFERENCE_EPOCHS,
            "timing": f"accuracy from {run_dir.name}; time = epochs x {epoch_s:.1f} s (idle seed "
                      f"epoch incl. eval, {speed_file.name}), set-up not counted"}


def first_reaching(points: list[dict], target: float) -> float | None:
    return next((p["wall_s"] for p in points if p["accuracy"] >= target), None)


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast-only", action="store_true")
    parser.add_argument("--reference-run", type=Path, help="a seed-preset run folder to take the reference from")
    parser.add_argument("--fast-epochs", type=int, default=None, help="override the fast preset's epochs")
    parser.add_argument("--fast-from", type=Path,
                        help="reuse the fast arm of an earlier result (e.g. bench/results/time_to_quality.json)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", help="the fast arm's precision (auto, bf16, fp32)")
    parser.add_argument("--runs-dir", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--name", default="time_to_quality", help="result file name under bench/results/")
    args = parser.parse_args()
    base = {"train_size": 1000, "eval_size": 1000, "device": args.device}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.runs_dir or scratch
        if args.reference_run:
            reference = reference_from_run(args.reference_run)
            REFERENCE_FILE.write_text(json.dumps(reference, indent=2) + "\n")
        elif args.fast_only:
            reference = json.loads(REFERENCE_FILE.read_text())
        else:
            print("reference recipe (preset seed), 10 epochs:", flush=True)
            points = timed_run({**base, "preset": "seed"}, Path(tmp))
            best = max(points, key=lambda p: p["accuracy"])
            reference = {"machine": machine(), "points": points, "best_accuracy": best["accuracy"],
                         "wall_s_to_best": best["wall_s"]}
            REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
            REFERENCE_FILE.write_text(json.dumps(reference, indent=2) + "\n")
        if args.fast_from:  # the fast arm of an earlier run of this bench (an idle machine's)
            fast = json.loads(args.fast_from.read_text())["fast"]
        else:
            print("fast preset:", flush=True)
            fast_values = {**base, "preset": "fast", "precision": args.precision}
            if args.fast_epochs:
                fast_values["epochs"] = args.fast_epochs
            fast = timed_run(fast_values, Path(tmp))
    target = reference["best_accuracy"]
    to_reference = first_reaching(fast, target)
    to_088 = first_reaching(fast, 0.88)
    result = {
        "bench": "time_to_quality", "machine": machine(), "reference": reference, "fast": fast,
        "fast_s_to_reference_best": to_reference, "fast_s_to_0.88": to_088,
        "time_ratio": (to_reference / reference["wall_s_to_best"]) if to_reference else None,
    }
    table = [("recipe", "best acc", "s to ref best", "s to 0.88"),
             ("seed", f"{target:.4f}", f"{reference['wall_s_to_best']:.0f}", "-"),
             ("fast", f"{max(p['accuracy'] for p in fast):.4f}",
              "not reached" if to_reference is None else f"{to_reference:.0f}",
              "not reached" if to_088 is None else f"{to_088:.0f}")]
    emit(args.name, result, table)


if __name__ == "__main__":
    main()
