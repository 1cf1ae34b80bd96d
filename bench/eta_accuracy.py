"""How right the ETA was: predicted vs actual remaining time at 10%, 50% and 90% of a finished run.

    python -m bench.eta_accuracy runs/RUN [--output bench/results/eta_accuracy.json]

Reads the run's ``events.jsonl`` (each StepProgress has ``elapsed`` since the epochs began and
the ``eta`` the trainer predicted) and ``status.json``. The run ends at its last progress event
(the end of the last evaluation; only the records of that epoch are written after it). For
comparison each point also gives what the former, training-only ETA would have said there
(elapsed / steps done x steps left, with evaluation time counted as training time).
Prints JSON; with ``--output`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from lorasent_tui.core.eventlog import read_events
from lorasent_tui.core.events import StepProgress

POINTS = (0.1, 0.5, 0.9)


def _training_only_eta(event: StepProgress) -> float | None:
    if not event.step:
        return None
    return event.elapsed / event.step * (event.total - event.step)


def eta_accuracy(run_dir: Path) -> dict[str, Any]:
    events, _ = read_events(run_dir / "events.jsonl")
    progress = [e for e in events if isinstance(e, StepProgress)]
    if not progress:
        raise SystemExit(f"{run_dir}: no progress events")
    status = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    end = progress[-1].elapsed
    points = []
    for share in POINTS:
        event = min(progress, key=lambda e: abs(e.elapsed - share * end))
        actual = end - event.elapsed
        predicted = event.eta
        old = _training_only_eta(event)
        points.append({
            "at": share, "elapsed_s": round(event.elapsed, 1), "phase": event.phase,
            "epoch": event.epoch, "step": event.step,
            "predicted_remaining_s": None if predicted is None else round(predicted, 1),
            "actual_remaining_s": round(actual, 1),
            "error_pct": None if predicted is None or not actual else round(100 * (predicted - actual) / actual, 1),
            "training_only_eta_s": None if old is None else round(old, 1),
            "training_only_error_pct": None if old is None or not actual else round(100 * (old - actual) / actual, 1),
            "fraction_reported": None if event.fraction is None else round(event.fraction, 3),
            "fraction_actual": round(event.elapsed / end, 3) if end else None,
        })
    return {
        "run": run_dir.name, "state": status.get("state"), "device": status.get("device"),
        "settings": {k: config.get(k) for k in ("model", "preset", "dataset", "train_size", "eval_size",
                                                "epochs", "max_length", "sliding_windows", "batch_size",
                                                "unlabeled", "unlabeled_size", "teacher")},
        "epoch_times": status.get("epoch_times"), "run_s": round(end, 1), "points": points,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--note", help="what the numbers need to be read with (the machine, its load)")
    args = parser.parse_args(argv)
    from bench.common import machine

    result = {**eta_accuracy(args.run_dir), "machine": machine()}
    if args.note:
        result["note"] = args.note
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
