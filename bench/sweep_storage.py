"""Two sweep processes started at once on one study in a new PostgreSQL database.

    python -m bench.sweep_storage

Starts a throwaway PostgreSQL server (tests/postgres_server.py), then two ``lorasent-tui sweep``
processes on the same ``--study`` and ``--storage postgresql://…``, each with ``--trials 2``
over a 2x2 grid, on the tests' tiny model and data sizes. Records each process's trials and
times, and checks that the study holds four trials, every grid point once, each one a run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import emit, machine
from tests.postgres_server import throwaway_server
from tests.tiny_models import make_tiny_model

SETTINGS = {"train_size": 24, "eval_size": 16, "epochs": 1, "max_length": 32, "batch_size": 8,
            "device": "cpu", "seed": 7, "logging_steps": 1}
SEARCH = "[search]\nlora_r = {choices = [2, 4]}\nlearning_rate = {choices = [0.001, 0.01]}\n"
PROCESSES = 2
TRIALS_EACH = 2


def sweep(*argv: str) -> list[str]:
    return [sys.executable, "-m", "lorasent_tui", "sweep", *argv]


def main() -> None:
    import psycopg

    with tempfile.TemporaryDirectory() as tmp, throwaway_server() as server:
        folder = Path(tmp)
        model = make_tiny_model("bert", folder / "tiny")
        space = folder / "grid.toml"
        space.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {"model": str(model), **SETTINGS}.items())
                         + SEARCH)
        url = server.url(server.database())
        with server.connect() as connection:
            server_version = connection.execute("SHOW server_version").fetchone()[0]
        runs = folder / "runs"
        argv = [str(space), "--study", "pg", "--storage", url, "--sampler", "grid",
                "--trials", str(TRIALS_EACH), "--runs-dir", str(runs), "--json"]
        logs = [(folder / f"worker{i}.out", folder / f"worker{i}.err") for i in range(PROCESSES)]
        start = time.perf_counter()
        processes = [subprocess.Popen(sweep(*argv), stdout=out.open("w"), stderr=err.open("w"))
                     for out, err in logs]
        ended: dict[int, float] = {}
        while len(ended) < PROCESSES:
            ended.update({i: time.perf_counter() - start for i, p in enumerate(processes)
                          if i not in ended and p.poll() is not None})
            time.sleep(0.1)
        workers = [{"exit_status": process.returncode, "seconds": round(ended[i], 1),
                    "trials": [line.split()[1] for line in logs[i][1].read_text().splitlines()
                               if " complete: " in line]}
                   for i, process in enumerate(processes)]
        wall = max(ended.values())
        status = subprocess.run(sweep("--status", "--storage", url, "--json", "--runs-dir", str(runs)),
                                capture_output=True, text=True, check=True)
        boards = json.loads(status.stdout)
        trials = boards[0]["trials"] if boards else []
        points = {(t["params"]["lora_r"], t["params"]["learning_rate"]) for t in trials}
        run_dirs = sorted(p.name for p in runs.iterdir() if p.is_dir() and p.name != "sweeps")
        result = {
            "what": f"{PROCESSES} `sweep` processes started at once on one grid study (2x2) in a new "
                    f"PostgreSQL database, --trials {TRIALS_EACH} each, tiny BERT (2 layers, 32 wide), "
                    f"{SETTINGS['train_size']} training and {SETTINGS['eval_size']} validation reviews, 1 epoch",
            "server": f"PostgreSQL {server_version} (throwaway, unix socket, fsync off), "
                      f"driver psycopg {psycopg.__version__}",
            "wall_seconds": round(wall, 1),
            "workers": workers,
            "studies": len(boards),
            "trials": len(trials),
            "complete": sum(t["state"] == "complete" for t in trials),
            "distinct_grid_points": len(points),
            "trial_seconds": sorted(round(t["duration"], 1) for t in trials if t["duration"] is not None),
            "every_trial_a_run": sorted(t["run_id"] for t in trials) == run_dirs,
            "machine": machine(),
        }
    emit("sweep_postgres", result,
         [("process", "exit", "seconds", "trials"),
          *[(str(i), str(w["exit_status"]), str(w["seconds"]), " ".join(w["trials"])) for i, w in enumerate(workers)]])


if __name__ == "__main__":
    main()
