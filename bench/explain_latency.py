"""How long "Why this label" takes: word attributions for a typed review and a 1,000-token one.

    python -m bench.explain_latency [--run RUN] [--runs-dir runs] [--repeats 5] [--name NAME]

With --run (a run with a saved adapter: its best epoch, merged into the weights as the app and
``predict`` load it), else the bundled MiniLM base model (a merged LoRA adapter adds no compute,
so the latency is the same). Per text: the first explanation (captum imported, the model warm
from one prediction), the median and worst of ``--repeats`` more (the cache off), a cached one,
in the run's precision and in fp32; the agreement of the top words with 4x as many integration
steps; and the longest stall of a 10 ms ticker in the main thread meanwhile (the app's UI loop
runs there while a worker explains). Targets: under 1 s and under 5 s. The machine's load
average is recorded: other processes share its cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import warnings
from pathlib import Path

from bench.common import emit, machine

TYPED = "Not a fan at all: the acting was wooden, though the music was lovely."
LONG_TOKENS = 1000
TICK_S = 0.01


def long_review(tokenizer, size: int) -> str:
    """An IMDb validation review of about LONG_TOKENS tokens (the closest of ``size`` reviews)."""
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data import load_splits

    reviews = load_splits(build_config({"train_size": 2, "eval_size": size, "seed": 1})).eval_texts
    lengths = [len(ids) for ids in tokenizer(reviews, add_special_tokens=False)["input_ids"]]
    return min(zip(lengths, reviews), key=lambda pair: abs(pair[0] - LONG_TOKENS))[1]


def stall_while(work) -> tuple[float, object]:
    """Run ``work`` in a thread; the longest delay (s) of a 10 ms sleep loop here meanwhile."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", work()))
    thread.start()
    worst = 0.0
    while thread.is_alive():
        start = time.perf_counter()
        time.sleep(TICK_S)
        worst = max(worst, time.perf_counter() - start - TICK_S)
    thread.join()
    return worst, result.get("value")


def timings(predictor, text: str, repeats: int) -> dict:
    from lorasent_tui.core.explain import Explainer

    explainer = Explainer(predictor)
    start = time.perf_counter()
    explanation = explainer.explain(text)
    first = time.perf_counter() - start
    start = time.perf_counter()
    explainer.explain(text)
    cached = time.perf_counter() - start
    uncached = Explainer(predictor, cache_size=0)
    samples, stalls = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        stall, _ = stall_while(lambda: uncached.explain(text))
        samples.append(time.perf_counter() - start)
        stalls.append(stall)
    precise = Explainer(predictor, n_steps=4 * explainer.n_steps).explain(text)
    top = {w.word for w in explanation.top_for() + explanation.top_against()}
    top_precise = {w.word for w in precise.top_for() + precise.top_against()}
    return {"first_s": round(first, 3), "p50_s": round(statistics.median(samples), 3),
            "max_s": round(max(samples), 3), "cached_ms": round(cached * 1000, 3),
            "main_thread_max_stall_ms": round(max(stalls) * 1000, 1),
            "n_steps": explainer.n_steps, "part": explanation.part, "target": explanation.target,
            "top_words": [w.word for w in explanation.top_for()],
            "top_overlap_with_4x_steps": round(len(top & top_precise) / max(1, len(top_precise)), 2)}


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run with a saved adapter (default: the bundled base model)")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reviews", type=int, default=2000, help="IMDb reviews to pick the long one from")
    parser.add_argument("--name", default="explain_latency", help="results file: bench/results/NAME.json")
    parser.add_argument("--note", help="recorded with the results")
    args = parser.parse_args()

    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.store import RunStore

    load_before = os.getloadavg()
    if args.run:
        predictor = Predictor.from_run(args.run, args.runs_dir)
        run = RunStore(Path(args.runs_dir)).get(args.run)
        status = run.status()
        model = (f"run {run.run_id} ({predictor.config.model}, LoRA r={predictor.config.lora_r} merged; "
                 f"{status.get('state')}, best epoch {status.get('best_epoch')} of "
                 f"{status.get('epochs_done')} done)")
    else:
        predictor = Predictor.from_base(build_config({}))
        model = "bundled MiniLM base model, untrained head (no run with an adapter given)"
    long_text = long_review(predictor.tokenizer, args.reviews)
    tokens = {"typed": len(predictor.tokenizer(TYPED, add_special_tokens=False)["input_ids"]),
              "long": len(predictor.tokenizer(long_text, add_special_tokens=False)["input_ids"])}
    predictor.predict([TYPED])  # the model warm, as it is once the Predict tab shows a verdict
    result = {"bench": "explain_latency", "machine": machine(), "note": args.note, "model": model,
              "max_length": predictor.config.max_length, "sliding_windows": predictor.config.sliding_windows,
              "tokens": tokens, "targets_s": {"typed": 1.0, "long": 5.0}}
    for precision in dict.fromkeys([predictor.precision, "fp32"]):
        predictor.precision = predictor.backend.precision = precision
        result[precision] = {"typed": timings(predictor, TYPED, args.repeats),
                             "long": timings(predictor, long_text, args.repeats)}
    result["load_average_1m"] = {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)}
    table = [("precision", "text", "tokens", "first", "p50", "max", "stall", "top overlap 4x")]
    for precision in [k for k in result if k in ("bf16", "fp32")]:
        for kind in ("typed", "long"):
            r = result[precision][kind]
            table.append((precision, kind, str(tokens[kind]), f"{r['first_s']:.2f} s", f"{r['p50_s']:.2f} s",
                          f"{r['max_s']:.2f} s", f"{r['main_thread_max_stall_ms']:.0f} ms",
                          f"{r['top_overlap_with_4x_steps']:.2f}"))
    emit(args.name, result, table)


if __name__ == "__main__":
    main()
