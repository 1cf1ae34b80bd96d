"""Quality of one run configuration over several seeds: validation accuracy, held-out IMDb
reviews, one-sentence reviews and the five reference examples, mean ± spread, wall time per run.

    python -m bench.quality                                   # the fast preset, seeds 42, 43, 44
    python -m bench.quality --seeds 1 --tag unlabeled -- --unlabeled imdb-unlabeled
    python -m bench.quality --tag seed -- --preset seed       # any train flags after --

Each run trains like ``lorasent-tui train`` with those flags (and --seed 42, 43, …) into a
temporary runs folder; its best epoch then predicts through core/predict.py (the Predict tab's
path, sliding windows and all). The held-out sets (bench/short_reviews.py) exclude every text
any of the runs trains, validates or self-trains on. The spread is half the range (max − min)/2.
Results: bench/results/quality_<tag>.json and a short table; the load average is recorded
because a shared CPU slows every run (accuracies are unaffected: CPU math is deterministic).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import emit, machine
from bench.short_reviews import excluded_texts, held_out

# The seed report's examples and the labels its DistilBERT gave after training (all correct).
REFERENCE_EXAMPLES = (
    ("It was good.", "positive"),
    ("Not a fan, don't recomment.", "negative"),
    ("Better than the first one.", "positive"),
    ("This is not worth watching even once.", "negative"),
    ("This one is a pass.", "negative"),
)


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Any]:
    from lorasent_tui.cli import build_parser

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="runs, with seeds 42, 43, … (default 3)")
    parser.add_argument("--first-seed", type=int, default=42)
    parser.add_argument("--unseen", type=int, default=2000, help="held-out whole reviews (default 2000)")
    parser.add_argument("--short", type=int, default=500, help="one-sentence reviews (default 500)")
    parser.add_argument("--tag", default="fast", help="names the results file quality_<tag>.json")
    parser.add_argument("--runs-dir", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("train_flags", nargs=argparse.REMAINDER, help="train flags, after --")
    args = parser.parse_args(argv)
    flags = [f for f in args.train_flags if f != "--"]
    train_args = build_parser().parse_args(["train", *flags])
    return args, train_args


def accuracy(predictor: Any, pairs: list[tuple[str, Any]]) -> float:
    """The share of ``pairs`` (text, label: class id or name) ``predictor`` gets right."""
    names = predictor.label_names
    predictions = predictor.predict([text for text, _ in pairs], batch_size=64)
    right = sum(p.label == (names[label] if isinstance(label, int) else label)
                for p, (_, label) in zip(predictions, pairs))
    return right / max(1, len(pairs))


def one_run(config: Any, sets: dict[str, list], runs_dir: Path) -> dict[str, Any]:
    from lorasent_tui.core.events import RunFinished, TrainCallbacks
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train

    started = time.monotonic()
    epoch_wall: list[float] = []

    def on_epoch(event: Any) -> None:  # partial figures survive a run cut short
        row = event.metrics
        epoch_wall.append(round(time.monotonic() - started, 1))
        print(f"  seed {config.seed} epoch {row['epoch']}: validation {row['accuracy']:.4f}, "
              f"pseudo-labels {row.get('pseudo_labels')}, {time.monotonic() - started:.0f} s", flush=True)

    result = train(config, runs_dir=runs_dir, callbacks=TrainCallbacks(on_epoch=on_epoch))
    wall = time.monotonic() - started
    if not isinstance(result, RunFinished) or result.state != "completed":
        raise SystemExit(f"seed {config.seed}: {getattr(result, 'message', result)}")
    run = RunStore(runs_dir).get(result.run_id)
    rows = run.metrics()
    predictor = Predictor.from_run(result.run_id, runs_dir)
    curve = [round(r["accuracy"], 4) for r in rows]
    out = {"seed": config.seed, "wall_s": round(wall, 1), "validation": result.best_metrics["accuracy"],
           "validation_per_epoch": curve, "epoch_end_wall_s": epoch_wall,
           "epoch_times": run.status().get("epoch_times"),
           "largest_drop": round(max([0.0] + [a - b for a, b in zip(curve, curve[1:])]), 4),
           "pseudo_labels": [r.get("pseudo_labels") for r in rows]}
    out.update({name: round(accuracy(predictor, pairs), 4) for name, pairs in sets.items()})
    out["reference_right"] = [p.label == want for p, (_, want) in
                              zip(predictor.predict([t for t, _ in REFERENCE_EXAMPLES]), REFERENCE_EXAMPLES)]
    print(f"  seed {config.seed}: {out}", flush=True)
    return out


def summary(runs: list[dict], key: str) -> dict[str, float]:
    values = [float(r[key]) for r in runs]
    return {"mean": round(statistics.fmean(values), 4),
            "spread": round((max(values) - min(values)) / 2, 4), "values": values}


def main(argv: list[str] | None = None) -> None:
    from lorasent_tui.core.configfile import resolve_config

    args, train_args = parse_args(argv)
    seeds = [args.first_seed + i for i in range(args.seeds)]
    configs = [resolve_config(train_args.config, train_args.preset, {**vars(train_args), "seed": seed})
               for seed in seeds]
    unseen, shorts = held_out(excluded_texts(configs), args.unseen, args.short)
    sets = {"unseen_imdb": unseen, "short_reviews": shorts}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="quality-") as tmp:
        runs = [one_run(config, sets, args.runs_dir or Path(tmp)) for config in configs]
    for run in runs:
        run["reference"] = sum(run["reference_right"])
    keys = ("validation", "unseen_imdb", "short_reviews", "reference", "wall_s", "largest_drop")
    result = {"tag": args.tag, "train_flags": [f for f in args.train_flags if f != "--"],
              "config": configs[0].to_dict(), "seeds": seeds, "sizes": {k: len(v) for k, v in sets.items()},
              "summary": {k: summary(runs, k) for k in keys}, "runs": runs, "machine": machine(),
              "load_average": {"before": list(load_before), "after": list(os.getloadavg())}}
    table = [("measure", "mean", "± spread", "per seed")]
    for key in keys:
        s = result["summary"][key]
        table.append((key, f"{s['mean']:g}", f"{s['spread']:g}", " ".join(f"{v:g}" for v in s["values"])))
    emit(f"quality_{args.tag}", result, table)


if __name__ == "__main__":
    main()
