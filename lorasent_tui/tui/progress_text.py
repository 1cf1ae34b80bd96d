"""The Train tab's progress line and bar: where a run is, in words and as a fraction, and how it ended."""

from __future__ import annotations

from lorasent_tui.core.display import format_duration
from lorasent_tui.core.events import StepProgress, scoring_title


def progress_line(p: StepProgress, stopping: bool = False) -> str:
    """Where the run is; while stopping no ETA, since the run ends after this step."""
    if p.phase != "train" and p.eval_total:
        where = f"{scoring_title(p)}: {p.eval_done or 0}/{p.eval_total} reviews"
    else:
        where = f"epoch {p.epoch}/{p.epochs} · step {p.step}/{p.total}"
    left = "stopping after this step" if stopping else f"ETA {format_duration(p.eta)}"
    return f"{where} · elapsed {format_duration(p.elapsed)} · {left} · device {p.device}"


def run_fraction(p: StepProgress) -> float:
    """Of the whole run's work; a trainer without ``fraction`` counts training steps only."""
    if p.fraction is not None:
        return min(max(p.fraction, 0.0), 1.0)
    return p.step / p.total if p.total else 0.0


def ended_line(state: str, epochs: int, elapsed: float | None) -> str:
    """The progress line once a run has ended: what it did, never a stale ETA."""
    took = f" in {format_duration(elapsed)}" if elapsed is not None else ""
    done = f"{epochs} epoch{'s' if epochs != 1 else ''}"
    if state == "completed":
        return f"Completed: {done}{took}."
    if not epochs:
        return f"Stopped{took}, before the first epoch finished."
    return f"Stopped after {done}{took}; resume it from the Runs tab (u)."
