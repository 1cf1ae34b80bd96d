"""The Sweeps tab's editor rows as a search space: one row per varied setting, its values
written ``low..high [log | step N]`` or ``a, b, c``, checked with core/sweep/space.py's rules."""

from __future__ import annotations

from typing import Any

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.errors import ConfigError
from lorasent_tui.core.sweep.space import SearchSpace, parse_space

VALUES_HELP = "low..high, low..high log, low..high step N, or choices a, b, c"


def _scalar(text: str) -> Any:
    """A value as TOML would read it: a whole number, a number, true/false, else the text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_values(text: str) -> dict[str, Any]:
    """One row's values as a search-space spec (the TOML ``[search]`` table's entry)."""
    text = text.strip()
    if ".." not in text:
        choices = [part.strip() for part in text.split(",")]
        if not text or not all(choices):
            raise ValueError(f"write {VALUES_HELP}")
        return {"choices": [_scalar(choice) for choice in choices]}
    low, _, rest = text.partition("..")
    high, *extra = rest.split()
    spec: dict[str, Any] = {"low": _scalar(low.strip()), "high": _scalar(high)}
    if extra == ["log"]:
        spec["log"] = True
    elif len(extra) == 2 and extra[0] == "step":
        spec["step"] = _scalar(extra[1])
    elif extra:
        raise ValueError(f"after the range: log or step N, not {' '.join(extra)!r}")
    return spec


def default_rows(config: TrainConfig) -> list[tuple[str, str]]:
    """Start around the form's settings: its learning rate ×/÷ 3 (log) and its LoRA rank ×/÷ 2."""
    rate, rank = config.learning_rate, config.lora_r
    ranks = sorted({max(1, rank // 2), rank, rank * 2})
    return [("learning_rate", f"{rate / 3:.3g}..{rate * 3:.3g} log"),
            ("lora_r", ", ".join(map(str, ranks)))]


def varied_settings(rows: list[tuple[str, str]], base: TrainConfig,
                    sampler: str) -> tuple[SearchSpace | None, dict[int, str]]:
    """The search space of the editor's rows (blank rows skipped), or each bad row's one-line error.

    Every row is checked alone with core/sweep/space.py's rules, so each gets its own message.
    """
    fixed = base.to_dict()
    search: dict[str, dict[str, Any]] = {}
    errors: dict[int, str] = {}
    for index, (name, text) in enumerate(rows):
        name = name.strip().replace("-", "_")
        if not name and not text.strip():
            continue
        try:
            if not name:
                raise ValueError("name the setting to vary")
            if name in search:
                raise ValueError(f"{name} is varied on another row already")
            spec = parse_values(text)
            space = parse_space({"search": {name: spec}}, base=fixed)
            if sampler == "grid":
                space.grid()
        except ConfigError as exc:
            errors[index] = next(iter(exc.field_errors.values()), str(exc))
        except ValueError as exc:
            errors[index] = str(exc)
        else:
            search[name] = spec
    if errors:
        return None, errors
    if not search:
        return None, {0: "vary at least one setting"}
    return parse_space({"search": search}, base=fixed), {}
