"""How a run's validation accuracy depends on how long reviews are read: every scheme's
accuracy, ROC AUC and log loss from one scoring of the union of their views.

    python -m bench.view_schemes runs/RUN [runs/RUN2 ...]

Schemes (a review no longer than the window is always one view):
- cut+half: the head+tail cut view (half the weight) and windows half a window apart;
- half: those windows alone, equal weights;
- cut+cover: the cut view and the fewest windows that cover the review, spread evenly;
- cover: those covering windows alone;
- cut: the cut view alone.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from bench.common import emit, machine


def scheme_views(ids: list[int], budget: int, truncation: str) -> dict[str, list[tuple]]:
    """Per scheme: (key, weight) of each view; a key is ("cut",) or ("win", start)."""
    from lorasent_tui.core.views import cover_starts, window_starts

    if len(ids) <= budget:
        return {name: [(("cut",), 1.0)] for name in ("cut+half", "half", "cut+cover", "cover", "cut")}
    half = [("win", s) for s in window_starts(len(ids), budget, budget // 2)]
    cover = [("win", s) for s in cover_starts(len(ids), budget)]

    def mixed(windows: list) -> list:
        return [(("cut",), 0.5)] + [(w, 0.5 / len(windows)) for w in windows]

    return {"cut+half": mixed(half), "half": [(w, 1 / len(half)) for w in half],
            "cut+cover": mixed(cover), "cover": [(w, 1 / len(cover)) for w in cover],
            "cut": [(("cut",), 1.0)]}


def analyse(run_dir: Path) -> dict:
    import numpy as np
    import torch
    from sklearn.metrics import log_loss, roc_auc_score

    from lorasent_tui.core.batching import special_token_template, tokenize_whole, truncate_ids
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.predict import Predictor

    predictor = Predictor.from_run(run_dir.name, run_dir.parent)
    cfg = predictor.config
    splits = load_splits(cfg)
    tokenizer = predictor.tokenizer
    prefix, suffix = special_token_template(tokenizer)
    budget = cfg.max_length - len(prefix) - len(suffix)
    all_ids = tokenize_whole(tokenizer, splits.eval_texts)
    unique: dict[tuple, int] = {}
    encoded: list[list[int]] = []
    plans = []
    for i, ids in enumerate(all_ids):
        plan = scheme_views(ids, budget, cfg.truncation)
        for views in plan.values():
            for key, _ in views:
                full = (i, *key)
                if full not in unique:
                    unique[full] = len(encoded)
                    body = truncate_ids(ids, budget, cfg.truncation) if key[0] == "cut" else ids[key[1]:key[1] + budget]
                    encoded.append(prefix + body + suffix)
        plans.append(plan)
    from lorasent_tui.core.batching import iter_batches, sorted_batches

    start = time.perf_counter()
    logits = torch.zeros((len(encoded), len(predictor.label_names)))
    for index, batch in iter_batches(encoded, sorted_batches([len(e) for e in encoded], 64), tokenizer.pad_token_id):
        logits[index] = predictor.backend.logits(batch)
    log_probs = torch.log_softmax(logits.float(), -1).numpy()
    labels = np.asarray(splits.eval_labels)
    out = {"run": run_dir.name, "views_scored": len(encoded), "scoring_s": round(time.perf_counter() - start, 1),
           "schemes": {}}
    for name in plans[0]:
        rows, views = [], 0
        for i, plan in enumerate(plans):
            combined = sum(w * log_probs[unique[(i, *key)]] for key, w in plan[name])
            combined = combined - np.logaddexp.reduce(combined)
            rows.append(np.exp(combined))
            views += len(plan[name])
        probs = np.asarray(rows)
        out["schemes"][name] = {"views": views, "accuracy": float((probs.argmax(1) == labels).mean()),
                                "roc_auc": float(roc_auc_score(labels, probs[:, 1])),
                                "log_loss": float(log_loss(labels, probs))}
    return out


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--name", default="view_schemes")
    args = parser.parse_args()
    results = [analyse(run) for run in args.runs]
    table = [("run", "scheme", "views", "accuracy", "AUC", "log loss")]
    for r in results:
        for name, s in r["schemes"].items():
            table.append((r["run"], name, str(s["views"]), f"{s['accuracy']:.4f}", f"{s['roc_auc']:.4f}",
                          f"{s['log_loss']:.4f}"))
    emit(args.name, {"bench": "view_schemes", "machine": machine(), "runs": results}, table)


if __name__ == "__main__":
    main()
