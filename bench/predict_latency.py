"""Prediction latency and throughput of a run: torch (fp32, bf16, unmerged) and ONNX Runtime (fp32, int8).

    python -m bench.predict_latency [--run RUN] [--runs-dir runs] [--variants ...] [--name NAME]

Per variant: p50/p95 of one typed review (under 64 tokens) and of one 256-token review (one
view), the throughput over ``--batch`` of the run's validation reviews (read as it reads them:
sliding windows included), their accuracy, and the largest probability difference from torch
fp32. ONNX variants are exported to a temporary folder first. Without --run, trains a tiny
throwaway run of the bundled model first (a minute on a CPU).
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
VARIANTS = ("torch-fp32", "torch-bf16", "torch-unmerged", "onnx-fp32", "onnx-int8")
DEFAULT_VARIANTS = "torch-fp32,torch-bf16,onnx-fp32,onnx-int8"


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


def _full_length_review(tokenizer, reviews: list[str], max_length: int) -> str:
    """The review whose length is closest to ``max_length`` tokens without exceeding it (one view)."""
    lengths = [len(ids) for ids in tokenizer(reviews)["input_ids"]]
    fitting = [(length, text) for length, text in zip(lengths, reviews) if length <= max_length]
    return max(fitting, key=lambda pair: pair[0])[1]


def _predictor(variant: str, ref: str, runs_dir: Path, tmp: Path) -> tuple[object, dict]:
    from lorasent_tui.core.onnx_backend import OnnxBackend
    from lorasent_tui.core.onnx_export import MODEL_FILE, export_onnx
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore

    kind, flavour = variant.split("-")
    if kind == "torch":
        predictor = Predictor.from_run(ref, runs_dir, merge=flavour != "unmerged")
        if flavour in ("fp32", "bf16"):  # unmerged: the run's own precision
            predictor.backend.precision = flavour
        return predictor, {}
    start = time.perf_counter()
    quantize = None if flavour == "fp32" else flavour
    folder = export_onnx(ref, tmp / variant, runs_dir=runs_dir, quantize=quantize)
    info = {"export_s": time.perf_counter() - start,
            "model_mb": (folder / MODEL_FILE).stat().st_size / 1e6}
    backend = OnnxBackend(folder)
    config = RunStore(runs_dir).get(ref).config()
    return Predictor(None, backend.tokenizer, config, variant, backend=backend), info


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help=f"comma-separated, from {', '.join(VARIANTS)} (torch-fp32 is the reference)")
    parser.add_argument("--name", default="predict_latency", help="results file: bench/results/NAME.json")
    parser.add_argument("--note", help="recorded with the results, e.g. that the machine was shared")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    if "torch-fp32" not in variants:
        variants.insert(0, "torch-fp32")

    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        runs_dir, ref = Path(args.runs_dir), args.run
        if ref is None:
            runs_dir = Path(tmp) / "runs"
            ref = train(build_config({"train_size": 32, "eval_size": args.batch, "epochs": 1}),
                        runs_dir=runs_dir).run_id
        # The run's own validation reviews: none of them trained it.
        splits = load_splits(RunStore(runs_dir).get(ref).config())
        reviews, labels = splits.eval_texts[:args.batch], splits.eval_labels[:args.batch]
        result = {"bench": "predict_latency", "machine": machine(),
                  "note": args.note, "run": ref, "reviews": len(reviews)}
        reference = None
        for variant in variants:
            predictor, info = _predictor(variant, ref, runs_dir, Path(tmp))
            long_review = _full_length_review(predictor.tokenizer, reviews, predictor.config.max_length)
            start = time.perf_counter()
            scores = [p.score for p in predictor.predict(reviews, batch_size=64)]
            seconds = time.perf_counter() - start
            reference = reference or scores
            result[variant] = {
                **info, "short": latency(predictor, SHORT, args.repeats),
                "long": latency(predictor, long_review, max(5, args.repeats // 5)),
                "batch_reviews_per_s": len(reviews) / seconds,
                "accuracy": sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels)) / len(labels),
                "max_prob_diff_vs_torch_fp32": max(abs(a - b) for a, b in zip(scores, reference))}
    table = [("variant", "short p50", "short p95", "256 p50", "256 p95", f"batch {len(reviews)}/s",
              "accuracy", "max |dp|")]
    for variant in variants:
        r = result[variant]
        table.append((variant, f"{r['short']['p50_ms']:.1f} ms", f"{r['short']['p95_ms']:.1f} ms",
                      f"{r['long']['p50_ms']:.1f} ms", f"{r['long']['p95_ms']:.1f} ms",
                      f"{r['batch_reviews_per_s']:.1f}", f"{r['accuracy']:.4f}",
                      f"{r['max_prob_diff_vs_torch_fp32']:.1e}"))
    emit(args.name, result, table)


if __name__ == "__main__":
    main()
