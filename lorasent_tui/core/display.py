"""How numbers and times are written for people: one format for the CLI, the app and the cards."""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"  # a value that is not there, or undefined (an AUC with one class present)


def format_metric(value: Any, digits: int = 4) -> str:
    if value is None:
        return MISSING
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.{digits}f}" if math.isfinite(number) else MISSING


def format_duration(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` from there; ``–`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    whole = max(0, int(round(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
