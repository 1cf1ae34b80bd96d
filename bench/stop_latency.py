"""How long a stop takes while a run evaluates: Ctrl+C a few seconds into the first evaluation.

    python -m bench.stop_latency [--train-size 64] [--eval-size 1000] [--after 5]

Starts `lorasent-tui train` (fast preset: 1,000 validation reviews read as about 2,600 views
with sliding windows), waits for the first evaluation in the run's event log, sends SIGINT
``--after`` seconds into it and times the process's exit. The app's Stop and quit set the same
stop event. A small training split only shortens the wait for the evaluation.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import emit, machine


def evaluation_started(runs: Path) -> bool:
    for log in runs.glob("*/events.jsonl"):
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("phase") == "eval" or "evaluating" in str(event.get("message", "")):
                return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", default="64")
    parser.add_argument("--eval-size", default="1000")
    parser.add_argument("--after", type=float, default=5.0, help="seconds into the evaluation")
    parser.add_argument("--name", default="stop_latency", help="results file: bench/results/NAME.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        command = [sys.executable, "-m", "lorasent_tui", "train", "--runs-dir", str(runs), "--quiet",
                   "--train-size", args.train_size, "--eval-size", args.eval_size]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        start = time.monotonic()
        while process.poll() is None and not evaluation_started(runs):
            time.sleep(0.2)
        evaluating = time.monotonic()
        time.sleep(args.after)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.communicate()
        exited = time.monotonic()
        status = json.loads(next(runs.glob("*/status.json")).read_text(encoding="utf-8"))
    result = {"bench": "stop_latency", "machine": machine(), "command": command[3:],
              "evaluation_started_after_s": round(evaluating - start, 1), "sigint_after_s": args.after,
              "exit_after_sigint_s": round(exited - sent, 2), "state": status["state"],
              "epochs_done": status.get("epochs_done")}
    emit(args.name, result, [("stop during evaluation", "exit after SIGINT", "state"),
                             ("epoch 1", f"{result['exit_after_sigint_s']} s", result["state"])])


if __name__ == "__main__":
    main()
