"""Prediction latency: one typed review (short and long) and a batch of 1000, merged vs unmerged.

    python -m bench.predict_latency [--run RUN] [--runs-dir runs]

Without --run, trains a tiny throwaway run of the bundled model first (a minute on a CPU).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from bench.common import emit, machine

SHORT = "It was good, better than the first one, though the ending dragged a little."


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latency(predictor, text: str, repeats: int) -> dict:
    predictor.predict([text])  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        predictor.predict([text])
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": statistics.median(samples), "p95_ms": _percentile(samples, 0.95),
            "tokens": len(predictor.tokenizer(text)["input_ids"][:predictor.config.max_length])}


def throughput(predictor, texts: list[str]) -> float:
    start = time.perf_counter()
    predictor.predict(texts, batch_size=64)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        runs_dir, ref = Path(args.runs_dir), args.run
        if ref is None:
            runs_dir = Path(tmp)
            result = train(build_config({"train_size": 32, "eval_size": 32, "epochs": 1}),
                           runs_dir=runs_dir)
            ref = result.run_id
        reviews = load_splits(build_config({"train_size": 2, "eval_size": args.batch, "seed": 1})).eval_texts
        long_review = max(reviews, key=len)
        result = {"bench": "predict_latency", "machine": machine(), "run": ref}
        for merge in (True, False):
            predictor = Predictor.from_run(ref, runs_dir, merge=merge)
            key = "merged" if merge else "unmerged"
            result[key] = {"short": latency(predictor, SHORT, args.repeats),
                           "long": latency(predictor, long_review, max(10, args.repeats // 5)),
                           "batch_reviews_per_s": throughput(predictor, reviews)}
    table = [("model", "short p50", "short p95", "long p50", "long p95", f"batch {args.batch}/s")]
    for key in ("merged", "unmerged"):
        r = result[key]
        table.append((key, f"{r['short']['p50_ms']:.1f} ms", f"{r['short']['p95_ms']:.1f} ms",
                      f"{r['long']['p50_ms']:.1f} ms", f"{r['long']['p95_ms']:.1f} ms",
                      f"{r['batch_reviews_per_s']:.0f}"))
    emit("predict_latency", result, table)


if __name__ == "__main__":
    main()
