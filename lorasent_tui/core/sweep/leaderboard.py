"""A study's trials as leaderboard rows, best first."""

from __future__ import annotations

import math
from typing import Any, Iterable

from lorasent_tui.core.sweep.events import LeaderboardRow

# Rows after the complete trials, in this order; the rest (running, failed, …) come last.
_STATE_ORDER = {"complete": 0, "pruned": 1}


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def trial_row(trial: Any) -> LeaderboardRow:
    """One Optuna FrozenTrial as a row; a failed trial that a stop interrupted reads "stopped"."""
    state = trial.state.name.lower()
    if state == "fail" and trial.user_attrs.get("stopped"):
        state = "stopped"
    params = dict(trial.params) or ({"config": trial.user_attrs["config"]}
                                    if "config" in trial.user_attrs else {})
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return LeaderboardRow(trial.number, state, _finite(trial.value), params,
                          trial.user_attrs.get("run_id"), duration)


def leaderboard(trials: Iterable[Any], direction: str) -> tuple[LeaderboardRow, ...]:
    """Complete trials by the metric (best first), then pruned ones, then the rest by number."""
    sign = -1.0 if direction == "maximize" else 1.0

    def key(row: LeaderboardRow) -> tuple:
        rank = _STATE_ORDER.get(row.state, 2)
        value = row.value if rank < 2 and row.value is not None else None
        return (rank, value is None, 0.0 if value is None else sign * value, row.number)

    rows = sorted((trial_row(t) for t in trials), key=key)
    if rows and rows[0].state == "complete" and rows[0].value is not None:
        rows[0] = LeaderboardRow(**{**rows[0].to_dict(), "is_best": True})
    return tuple(rows)
