"""UI latency of lorasent-tui in a real terminal (tmux): time to first frame, key to screen.

Runs the TUI in a private tmux server at 120x40 and polls ``tmux capture-pane``:

* first frame: launch -> the header title is on screen (``--startup-samples`` launches);
* tab switch: F2/F3/F1 -> a string only that tab shows is on screen, after a first visit of
  each tab (counted apart as ``first_visit``: opening Predict loads the base model once);
* typing: a character typed into the Predict input -> it is on screen.

``--start`` starts a small CPU training run first and measures while it trains, which is
when the UI is most likely to stutter (GIL contention with the trainer thread).

    python bench/ui_latency.py --samples 30
    python bench/ui_latency.py --samples 30 --start --train-size 200 --eval-size 100
    python bench/ui_latency.py --cmd "lorasent-tui --runs-dir /tmp/r"   # any launch command

Prints a table (p50/p95/max in ms) and the JSON of every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT = 120, 40
SOCKET = f"lorasent-bench-{os.getpid()}"  # a private tmux server: never touches the user's
SESSION = "ui"
TITLE = "lorasent-tui"
# Tab key -> text that is on screen only while that tab is shown.
TABS = (("F2", "Reference examples"), ("F3", "space mark"), ("F1", "Learning rate"))
ROOT = Path(__file__).resolve().parent.parent


def tmux(*args: str, check: bool = True) -> str:
    out = subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION, check=False)


def wait_for(predicate, timeout: float, start: float | None = None,
             poll: float = 0.002) -> float | None:
    """Seconds from ``start`` (default: now) until ``predicate(screen())`` holds; None on timeout.

    Time is read after each capture, so a result includes one capture round trip (~ms).
    """
    start = time.perf_counter() if start is None else start
    while True:
        found = predicate(screen())
        elapsed = time.perf_counter() - start
        if found:
            return elapsed
        if elapsed > timeout:
            return None
        time.sleep(poll)


def launcher(args: argparse.Namespace, runs_dir: Path) -> str:
    """``python -m lorasent_tui`` (the CLI without a command opens the TUI) with bench flags."""
    if args.cmd:
        return args.cmd
    flags = ["--runs-dir", str(runs_dir), "--model", args.model, "--dataset", args.dataset,
             "--train-size", str(args.train_size), "--eval-size", str(args.eval_size),
             "--epochs", str(args.epochs), "--max-length", str(args.max_length), "--device", "cpu"]
    if args.start:
        flags.append("--start")
    return " ".join(shlex.quote(part) for part in [sys.executable, "-m", "lorasent_tui", *flags])


def launch(command: str) -> float | None:
    """Start the app in a fresh session; seconds until the first frame shows the title."""
    tmux("kill-session", "-t", SESSION, check=False)
    env = f"cd {shlex.quote(str(ROOT))} && TERM=xterm-256color exec {command}"
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", str(WIDTH), "-y", str(HEIGHT), env)
    tmux("set-option", "-t", SESSION, "remain-on-exit", "on", check=False)
    return wait_for(lambda s: TITLE in s and "Train" in s, timeout=120, start=start)


def quit_app() -> None:
    tmux("send-keys", "-t", SESSION, "C-q", check=False)
    time.sleep(0.5)
    tmux("kill-session", "-t", SESSION, check=False)


def key_latency(key: str, expect: str, literal: bool = False, timeout: float = 10.0) -> float | None:
    start = time.perf_counter()
    tmux("send-keys", "-t", SESSION, *(["-l", key] if literal else [key]))
    return wait_for(lambda s: expect in s, timeout, start=start)


def summarize(samples: list[float | None]) -> dict[str, float | int | None]:
    ms = sorted(s * 1000 for s in samples if s is not None)
    if not ms:
        return {"n": 0, "timeouts": len(samples)}

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(round(p / 100 * (len(ms) - 1))))], 1)

    return {"n": len(ms), "timeouts": len(samples) - len(ms), "p50_ms": pct(50), "p95_ms": pct(95),
            "max_ms": round(ms[-1], 1), "mean_ms": round(statistics.fmean(ms), 1)}


def measure(args: argparse.Namespace) -> dict:
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="lorasent-bench-runs-"))
    command = launcher(args, runs_dir)
    result: dict = {"size": f"{WIDTH}x{HEIGHT}", "command": command, "training": bool(args.start),
                    "samples": {}}

    startup = []
    for _ in range(args.startup_samples):
        startup.append(launch(command))
        if startup[-1] is None:
            raise SystemExit(f"the app never showed {TITLE!r}; last screen:\n{screen()}")
        quit_app()
    result["samples"]["first_frame"] = startup

    launch(command)
    if args.start:
        # Measure while the trainer thread is busy: wait until steps are being reported.
        if wait_for(lambda s: "step " in s and "epoch " in s, timeout=args.train_timeout) is None:
            result["warning"] = "training progress never showed; measuring anyway"
    # The first visit of each tab is counted apart: opening Predict the first time loads the
    # untrained base model in a thread (seconds of GIL-heavy Python), once per session.
    first_visit = [key_latency(key, expect) for key, expect in TABS]
    result["samples"]["first_visit"] = first_visit
    key_latency("F2", TABS[0][1])
    if wait_for(lambda s: "Loading" not in s and "loading" not in s, timeout=120) is None:
        result["warning"] = "the base model never finished loading; measuring anyway"
    key_latency("F1", TABS[2][1])
    tabs = []
    for i in range(args.samples):
        key, expect = TABS[i % len(TABS)]
        tabs.append(key_latency(key, expect))
    result["samples"]["tab_switch"] = tabs

    key_latency("F2", TABS[0][1])
    typed, typing = "", []
    text = (args.text * (args.samples // len(args.text) + 1))[: args.samples]
    for char in text:
        typed += char
        # The input scrolls once it is full; only the last characters are sure to be visible.
        # "▊  " is the input's left border and padding: match the text inside the input only.
        typing.append(key_latency(char, "▊  " + typed[-40:], literal=True))
    result["samples"]["typing"] = typing
    quit_app()
    result["summary"] = {name: summarize(s) for name, s in result["samples"].items()}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20, help="key presses per measurement")
    parser.add_argument("--startup-samples", type=int, default=3, help="app launches for first frame")
    parser.add_argument("--start", action="store_true", help="measure while a CPU training run is going")
    parser.add_argument("--cmd", help="launch this instead of 'python -m lorasent_tui FLAGS'")
    parser.add_argument("--runs-dir", help="runs folder (default: a fresh temporary folder)")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--dataset", default="imdb")
    parser.add_argument("--train-size", type=int, default=200)
    parser.add_argument("--eval-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--train-timeout", type=float, default=180, help="seconds to wait for steps")
    parser.add_argument("--text", default="thisfilmwasgreatfun", help="characters typed, repeated")
    parser.add_argument("--json-out", help="also write the JSON here")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is required (apt-get install -y tmux)", file=sys.stderr)
        return 2
    try:
        result = measure(args)
    finally:
        tmux("kill-server", check=False)
    print(f"{'measurement':<12} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  "
          f"({result['size']}, training={'yes' if result['training'] else 'no'})")
    for name, s in result["summary"].items():
        print(f"{name:<12} {s['n']:>4} {s.get('p50_ms', '–'):>8} {s.get('p95_ms', '–'):>8} "
              f"{s.get('max_ms', '–'):>8}" + (f"  timeouts {s['timeouts']}" if s["timeouts"] else ""))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
