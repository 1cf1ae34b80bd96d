"""Scoring a whole data file with a run, as ``predict --input FILE`` does (core/batch_predict.py).

    python -m bench.file_scoring --run RUN [--runs-dir runs] [--reviews 5000] [--backend torch]

Writes ``--reviews`` held-out IMDb reviews (none the run trained, validated or self-trained on)
to a Parquet file, scores it into a CSV, and reports the wall time of loading the run and of the
scoring, reviews per second, the process's peak memory, and the predictions' accuracy against the
reviews' labels. JSON in bench/results/file_scoring.json (or --name).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from bench.common import emit, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run id or folder")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--reviews", type=int, default=5000)
    parser.add_argument("--backend", default="torch", help="torch, onnx or auto, as predict --backend")
    parser.add_argument("--name", default="file_scoring")
    args = parser.parse_args()

    import pandas as pd

    from bench.short_reviews import excluded_texts, held_out
    from lorasent_tui.core.batch_predict import score_file
    from lorasent_tui.core.onnx_backend import load_predictor
    from lorasent_tui.core.store import RunStore

    run = RunStore(args.runs_dir).get(args.run)
    reviews, _ = held_out(excluded_texts([run.config()]), args.reviews, 0)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "reviews.parquet"
        pd.DataFrame({"text": [t for t, _ in reviews]}).to_parquet(source, index=False)
        started = time.perf_counter()
        predictor = load_predictor(run.run_id, args.runs_dir, backend=args.backend)
        load_s = time.perf_counter() - started
        done = score_file(predictor, str(source), Path(tmp) / "predictions.csv", "text")
        labels = pd.read_csv(done.output)["label"].tolist()
    names = predictor.label_names
    accuracy = sum(names.index(label) == truth for label, (_, truth) in zip(labels, reviews)) / len(reviews)
    result = {"bench": "file_scoring", "machine": machine(), "run": run.run_id, "backend": args.backend,
              "model": predictor.name, "reviews": len(reviews), "load_s": round(load_s, 2),
              "scoring_s": round(done.seconds, 2), "reviews_per_s": round(len(reviews) / done.seconds, 1),
              "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
              "accuracy": round(accuracy, 4)}
    emit(args.name, result, [("reviews", "load", "scoring", "reviews/s", "peak memory", "accuracy"),
                             (str(len(reviews)), f"{load_s:.1f} s", f"{done.seconds:.1f} s",
                              str(result["reviews_per_s"]), f"{result['peak_rss_mib']} MiB",
                              f"{accuracy:.4f}")])


if __name__ == "__main__":
    main()
