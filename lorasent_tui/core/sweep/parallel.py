"""Several trials at once: one ``sweep`` worker process per GPU, all joining one study.

The workers share the study through its storage, exactly like sweep processes started by hand
on other machines; the parent only starts them, passes a stop on, and waits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence


def visible_gpus() -> list[str]:
    """The GPU ids a worker may be pinned to (CUDA_VISIBLE_DEVICES order), none on a CPU box."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [v.strip() for v in visible.split(",") if v.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def split_trials(total: int, workers: int) -> list[int]:
    """Trials per worker, as even as possible; workers left without a trial are not started."""
    shares = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    return [share for share in shares if share]


def worker_command(args: Sequence[str], trials: int, index: int) -> list[str]:
    return [sys.executable, "-m", "lorasent_tui", "sweep", *args, "--trials", str(trials),
            "--worker", str(index)]


def worker_env(index: int, gpus: Sequence[str]) -> dict[str, str]:
    env = dict(os.environ)
    if gpus:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    return env


def run_workers(commands: Sequence[tuple[list[str], dict[str, str]]], stop: threading.Event,
                stop_path: Path) -> int:
    """Start every worker and wait for all; a stop here reaches them through the STOP file.

    The status is the first failing worker's, else 0.
    """
    processes = [subprocess.Popen(command, env=env) for command, env in commands]
    try:
        while any(p.poll() is None for p in processes):
            if stop.is_set() and not stop_path.exists():
                stop_path.parent.mkdir(parents=True, exist_ok=True)
                stop_path.touch()
            time.sleep(0.5)
    finally:
        for process in processes:
            process.wait()
    return next((p.returncode for p in processes if p.returncode), 0)
