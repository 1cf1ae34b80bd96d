"""The ``threshold`` and ``calibrate`` commands: a run's decision settings from its saved
predictions (core/decision.py), printed as tables or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lorasent_tui.core.display import format_metric
from lorasent_tui.core.metrics import DEFAULT_THRESHOLD
from lorasent_tui.core.threshold import DEFAULT_MAX_FPR, METHODS, POINT_KEYS


def add_decision_parsers(sub: Any, add_runs_dir: Any) -> None:
    threshold = sub.add_parser(
        "threshold", help="choose a binary run's decision threshold",
        description="Choose the threshold on P(positive) that predict, the app and evaluate use, "
                    "from the best epoch's validation predictions; print precision, recall, F1, "
                    "TPR, FPR and accuracy there (validation, and test when the run has one). "
                    "Without --method or --clear, show the current threshold.")
    threshold.add_argument("run", metavar="RUN")
    threshold.add_argument("--method", choices=METHODS,
                           help="f1: maximum F1; youden: maximum TPR - FPR; fpr: the largest TPR "
                                "with FPR at most --max-fpr")
    threshold.add_argument("--max-fpr", type=float, default=DEFAULT_MAX_FPR, metavar="RATE",
                           help=f"the false-positive rate allowed by --method fpr (default {DEFAULT_MAX_FPR})")
    threshold.add_argument("--clear", action="store_true", help=f"back to {DEFAULT_THRESHOLD}")
    threshold.add_argument("--json", action="store_true", help="print JSON")
    add_runs_dir(threshold)

    calibrate = sub.add_parser(
        "calibrate", help="fit temperature scaling on a run's validation predictions",
        description="Fit one temperature that makes the run's probabilities match its accuracy "
                    "(lowest validation NLL); predict, the app and evaluate then use the calibrated "
                    "probabilities. Prints the expected calibration error before and after.")
    calibrate.add_argument("run", metavar="RUN")
    calibrate.add_argument("--clear", action="store_true", help="back to the model's own probabilities")
    calibrate.add_argument("--json", action="store_true", help="print JSON")
    add_runs_dir(calibrate)


def point_table(report: dict[str, dict[str, float]]) -> str:
    """The metrics at one threshold, a row per split."""
    headers = ["Split", "Precision", "Recall", "F1", "TPR", "FPR", "Accuracy"]
    rows = [[split] + [format_metric(metrics[key]) for key in POINT_KEYS]
            for split, metrics in report.items()]
    widths = [max(len(row[i]) for row in rows + [headers]) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in [headers] + rows)


def threshold_command(args: argparse.Namespace) -> int:
    from lorasent_tui.core.decision import check_binary, choose_run_threshold, threshold_report
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.threshold import clear_threshold, method_name, read_threshold

    run = RunStore(args.runs_dir).get(args.run)
    check_binary(run)
    if args.clear:
        clear_threshold(run.path)
        chosen: dict[str, Any] = {"method": "default", "threshold": DEFAULT_THRESHOLD}
    elif args.method:
        chosen = choose_run_threshold(run, args.method, args.max_fpr)
    else:
        chosen = read_threshold(run.path) or {"method": "default", "threshold": DEFAULT_THRESHOLD}
    report = threshold_report(run, chosen["threshold"])
    if args.json:
        print(json.dumps({"run": run.run_id, "method": chosen["method"], "max_fpr": chosen.get("max_fpr"),
                          "threshold": chosen["threshold"], **report}, indent=2))
        return 0
    print(f"run {run.run_id}: threshold {chosen['threshold']:.4f} "
          f"({method_name(chosen['method'], chosen.get('max_fpr'))})")
    print(point_table(report) if report else "no saved predictions to measure it on")
    return 0


def calibrate_command(args: argparse.Namespace) -> int:
    from lorasent_tui.core.decision import calibrate_run, describe_calibration, uncalibrate_run
    from lorasent_tui.core.store import RunStore

    run = RunStore(args.runs_dir).get(args.run)
    if args.clear:
        existed = uncalibrate_run(run)
        print(f"run {run.run_id}: " + ("calibration removed" if existed else "was not calibrated"))
        return 0
    fit = calibrate_run(run)
    print(json.dumps({"run": run.run_id, **fit}, indent=2) if args.json
          else f"run {run.run_id}: {describe_calibration(fit)}")
    return 0
