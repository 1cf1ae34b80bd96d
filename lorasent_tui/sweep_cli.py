"""The ``sweep`` command's parts: what its arguments ask for, and how a sweep is printed (a
line per trial event on stderr, the leaderboard on stdout as a table or JSON)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorasent_tui.core.config import FIELD_NAMES, TrainConfig
from lorasent_tui.core.configfile import read_config_file, resolve_config
from lorasent_tui.core.display import MISSING, format_duration, format_metric
from lorasent_tui.core.errors import ConfigError, LorasentError
from lorasent_tui.core.events import EpochResult, TrainCallbacks
from lorasent_tui.core.records import METRIC_COLUMNS
from lorasent_tui.core.sweep.events import (LeaderboardRow, SweepCallbacks, SweepFinished,
                                            SweepStarted, TrialFinished, TrialStarted)
from lorasent_tui.core.sweep.space import SearchSpace, read_space
from lorasent_tui.core.sweep.storage import check_study_name

HEADERS = {c.key: c.header for c in METRIC_COLUMNS}
DEFAULT_TRIALS = 10
QUEUE_SUFFIXES = (".toml", ".json")


@dataclass
class SweepPlan:
    """What to run: a search over ``space`` (``trials`` of them), or the ``queue`` in order."""

    study: str
    trials: int
    space: SearchSpace | None = None
    grid: dict[str, list[Any]] | None = None
    queue: list[tuple[str, TrainConfig]] | None = None


def fixed_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (``--preset`` among them), by config field name."""
    return {name: getattr(args, name) for name in FIELD_NAMES if getattr(args, name, None) is not None}


def queue_files(paths: list[str]) -> list[Path]:
    """The queued config files in order; a folder stands for its config files by name."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in QUEUE_SUFFIXES)
            if not found:
                raise LorasentError(f"{path}: no .toml or .json config files in this folder")
            files += found
        else:
            files.append(path)
    return files


def _queued_config(path: Path, args: argparse.Namespace) -> TrainConfig:
    try:
        return resolve_config(path, args.preset, vars(args))
    except ConfigError as exc:
        message = str(exc) if "config" in exc.field_errors else f"{path}: {exc}"
        raise LorasentError(message) from None


def plan_sweep(args: argparse.Namespace) -> SweepPlan:
    if args.space and args.configs:
        raise LorasentError("give a search space or --configs, not both")
    if not args.space and not args.configs:
        raise LorasentError("give a search space (sweep SPACE.toml) or a queue (sweep --configs FILE ...)")
    if args.trials is not None and args.trials < 1:
        raise ConfigError({"trials": "must be at least 1"})
    if args.parallel < 1:
        raise ConfigError({"parallel": "must be at least 1"})
    if args.configs:
        if args.parallel > 1:
            raise LorasentError("--parallel runs a search; a queue (--configs) runs its configs in order")
        queue = [(str(path), _queued_config(path, args)) for path in queue_files(args.configs)]
        return SweepPlan(check_study_name(args.study or "queue"), len(queue), queue=queue)
    base = read_config_file(Path(args.config)) if args.config else None
    space = read_space(Path(args.space), fixed_flags(args), base)
    grid = space.grid() if args.sampler == "grid" else None
    trials = args.trials or (math.prod(len(v) for v in grid.values()) if grid else DEFAULT_TRIALS)
    return SweepPlan(check_study_name(args.study or Path(args.space).stem), trials, space, grid)


def worker_args(args: argparse.Namespace, study: str, storage: str) -> list[str]:
    """The arguments that make a ``sweep`` process join this one's study with its settings."""
    out = [args.space, "--study", study, "--storage", storage, "--metric", args.metric,
           "--sampler", args.sampler, "--runs-dir", str(args.runs_dir)]
    if args.no_prune:
        out.append("--no-prune")
    if args.config:
        out += ["--config", args.config]
    for name, value in fixed_flags(args).items():
        out += ["--" + name.replace("_", "-"), str(value)]
    return out


def format_param(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def format_params(params: dict[str, Any]) -> str:
    return " ".join(f"{name}={format_param(value)}" for name, value in params.items())


class SweepReporter:
    """Prints a sweep's events; ``prefix`` tells parallel workers' lines apart."""

    def __init__(self, metric: str, prefix: str = ""):
        self.metric, self.prefix = metric, prefix
        self.trial: int | None = None

    def _err(self, text: str) -> None:
        print(self.prefix + text, file=sys.stderr, flush=True)

    def callbacks(self) -> SweepCallbacks:
        return SweepCallbacks(on_sweep_started=self.started, on_trial_started=self.trial_started,
                              on_trial_finished=self.trial_finished,
                              train=TrainCallbacks(on_epoch=self.epoch))

    def started(self, event: SweepStarted) -> None:
        goal = "lowest" if event.direction == "minimize" else "highest"
        before = f", continuing after {event.trials_before} trials" if event.trials_before else ""
        self._err(f"study {event.study} in {event.storage}: {goal} {event.metric}{before}")
        if event.failed_stale:
            self._err(f"trials {', '.join(map(str, event.failed_stale))} lost their process: marked failed")

    def trial_started(self, event: TrialStarted) -> None:
        self.trial = event.number
        self._err(f"trial {event.number}: {format_params(event.params)} (run {event.run_id})")

    def epoch(self, event: EpochResult) -> None:
        self._err(f"  trial {self.trial} epoch {event.metrics['epoch']}: "
                  f"{self.metric} {format_metric(event.metrics.get(self.metric))}")

    def trial_finished(self, event: TrialFinished) -> None:
        row = event.row
        why = f": {event.message}" if event.message else ""
        self._err(f"trial {row.number} {row.state}: {self.metric} {format_metric(row.value)} "
                  f"in {format_duration(row.duration)}{why}")


def leaderboard_json(result: SweepFinished) -> str:
    best = next((row.to_dict() for row in result.leaderboard if row.is_best), None)
    return json.dumps({"study": result.study, "metric": result.metric, "direction": result.direction,
                       "stopped": result.stopped, "best": best,
                       "trials": [row.to_dict() for row in result.leaderboard]}, indent=2)


def leaderboard_table(result: SweepFinished) -> str:
    rows: tuple[LeaderboardRow, ...] = result.leaderboard
    if not rows:
        return f"study {result.study} has no trials yet"
    names = list(dict.fromkeys(name for row in rows for name in row.params))
    header = ["Trial", "State", HEADERS.get(result.metric, result.metric), *names, "Time", "Run"]
    cells = [[f"{row.number}{' *' if row.is_best else ''}", row.state, format_metric(row.value),
              *(format_param(row.params[n]) if n in row.params else MISSING for n in names),
              format_duration(row.duration), row.run_id or MISSING] for row in rows]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
             for line in [header, *cells]]
    return "\n".join(lines)
