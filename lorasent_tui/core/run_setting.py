"""A setting a run keeps in a small JSON file of its own (its threshold, its calibration).

The file holds a dict with one number that matters (``key``); a file that is unreadable, not a
dict, or whose number is missing or out of range is damaged: a one-line RunError that says
how to make it again. Written crash-safely; cleared by deleting the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorasent_tui.core.errors import RunError
from lorasent_tui.core.fsutil import atomic_write_json, read_json


@dataclass(frozen=True)
class RunSetting:
    file_name: str
    key: str  # the number the file is for
    low: float
    high: float
    remedy: str  # how to make the file again, with ``{run}`` for the run's id

    def path(self, run_dir: Path) -> Path:
        return Path(run_dir) / self.file_name

    def read(self, run_dir: Path) -> dict[str, Any] | None:
        """The saved setting, None when the run has none; a damaged file is a RunError."""
        path = self.path(run_dir)
        if not path.exists():
            return None
        try:
            data = read_json(path)
        except (OSError, ValueError):
            data = None
        value = data.get(self.key) if isinstance(data, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            raise RunError(f"{path} is damaged; {self.remedy.format(run=Path(run_dir).name)}")
        return data

    def value(self, run_dir: Path) -> float | None:
        data = self.read(run_dir)
        return None if data is None else float(data[self.key])

    def write(self, run_dir: Path, data: dict[str, Any]) -> None:
        atomic_write_json(self.path(run_dir), data)

    def clear(self, run_dir: Path) -> bool:
        """Whether there was a saved setting."""
        path = self.path(run_dir)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed
