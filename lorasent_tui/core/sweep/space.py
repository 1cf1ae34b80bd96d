"""A sweep's search space: fixed settings plus a ``[search]`` table of varied ones.

Example (TOML)::

    model = "minilm"
    epochs = 2
    [search]
    learning_rate = {low = 1e-4, high = 1e-2, log = true}
    lora_r = {choices = [4, 8, 16]}
    batch_size = {low = 8, high = 32, step = 8}

Every bound and every choice is checked with the config's own rules (``build_config``), so a
space that validates only ever produces configs that train.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from lorasent_tui.core.config import FIELD_NAMES, TrainConfig, build_config
from lorasent_tui.core.errors import ConfigError

RANGE_KEYS = ("low", "high", "log", "step")
_KINDS = {f.name: ("int" if str(f.type).startswith("int") else
                   "float" if str(f.type).startswith("float") else "other")
          for f in dataclasses.fields(TrainConfig)}


@dataclass(frozen=True)
class Dimension:
    """One varied setting: a numeric range, or a list of choices."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if _KINDS[self.name] == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self) -> list[Any]:
        """Every value a grid search visits (choices, or a range with a step)."""
        if self.choices is not None:
            return list(self.choices)
        if _KINDS[self.name] == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step is None:
            raise ConfigError({f"search.{self.name}": "the grid sampler needs choices or a step"})
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


@dataclass(frozen=True)
class SearchSpace:
    fixed: dict[str, Any]  # settings every trial shares, as given (build_config coerces them)
    dimensions: tuple[Dimension, ...]

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {d.name: d.suggest(trial) for d in self.dimensions}

    def config_for(self, params: Mapping[str, Any]) -> TrainConfig:
        return build_config({**self.fixed, **params})

    def grid(self) -> dict[str, list[Any]]:
        return {d.name: d.grid_values() for d in self.dimensions}


def _number(name: str, key: str, value: Any, kind: str) -> float:
    where = f"search.{name}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError({where: f"{key} must be a number, got {value!r}"})
    if kind == "int" and value != int(value):
        raise ConfigError({where: f"{key} must be a whole number, got {value!r}"})
    if not math.isfinite(value):
        raise ConfigError({where: f"{key} must be finite"})
    return int(value) if kind == "int" else float(value)


def _check_value(fixed: dict[str, Any], name: str, value: Any, what: str) -> None:
    """Reject a bound or choice that the config itself would reject, with the config's message."""
    try:
        build_config({**fixed, name: value})
    except ConfigError as exc:
        message = exc.field_errors.get(name)
        if message is not None:
            raise ConfigError({f"search.{name}": f"{what} {value!r}: {message}"}) from None


def _choice(value: Any) -> Any:
    """Optuna stores numbers, strings and booleans: a list choice travels as ``"a,b"``."""
    return ",".join(str(v) for v in value) if isinstance(value, list) else value


def _dimension(name: str, spec: Any, fixed: dict[str, Any]) -> Dimension:
    where = f"search.{name}"
    if name not in FIELD_NAMES:
        raise ConfigError({where: "unknown setting"})
    if not isinstance(spec, dict):
        raise ConfigError({where: "expected {low, high[, log, step]} or {choices = [...]}"})
    unknown = sorted(set(spec) - set(RANGE_KEYS) - {"choices"})
    if unknown:
        raise ConfigError({where: f"unknown key {unknown[0]!r}; use low, high, log, step or choices"})
    if "choices" in spec:
        if set(spec) != {"choices"}:
            raise ConfigError({where: "give either choices or a range, not both"})
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError({where: "choices must be a non-empty list"})
        values = tuple(_choice(v) for v in choices)
        if len(set(values)) != len(values):
            raise ConfigError({where: "choices repeat a value"})
        for value in values:
            _check_value(fixed, name, value, "choice")
        return Dimension(name, choices=values)
    kind = _KINDS[name]
    if kind == "other":
        raise ConfigError({where: "this setting takes choices = [...], not a range"})
    if "low" not in spec or "high" not in spec:
        raise ConfigError({where: "a range needs low and high"})
    low, high = _number(name, "low", spec["low"], kind), _number(name, "high", spec["high"], kind)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError({where: "log must be true or false"})
    step = None if spec.get("step") is None else _number(name, "step", spec["step"], kind)
    if low >= high:
        raise ConfigError({where: f"low ({low}) must be below high ({high})"})
    if log and low <= 0:
        raise ConfigError({where: "a log range needs low > 0"})
    if log and step is not None:
        raise ConfigError({where: "log and step cannot be combined"})
    if step is not None and not 0 < step <= high - low:
        raise ConfigError({where: f"step must be > 0 and at most high - low ({high - low})"})
    _check_value(fixed, name, low, "low")
    _check_value(fixed, name, high, "high")
    return Dimension(name, low=low, high=high, log=log, step=step)


def parse_space(data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None,
                base: Mapping[str, Any] | None = None) -> SearchSpace:
    """A space from a parsed file, like ``train``'s settings: ``base`` (a ``--config`` file's
    settings) under the file's fixed settings, ``overrides`` (flags) over them."""
    data = dict(data)
    search = data.pop("search", None)
    if isinstance(data.get("train"), dict):
        data = {**data.pop("train"), **data}
    fixed = {key.replace("-", "_"): value for key, value in data.items()}
    fixed.update(overrides or {})
    searched = {str(name).replace("-", "_") for name in search} if isinstance(search, dict) else set()
    fixed = {**{k: v for k, v in (base or {}).items() if k not in searched}, **fixed}
    build_config(fixed)  # the fixed settings alone must make a valid config
    if not isinstance(search, dict) or not search:
        raise ConfigError({"search": "a [search] table with at least one varied setting is required"})
    dimensions = []
    for raw_name, spec in search.items():
        name = raw_name.replace("-", "_")
        if name in fixed:
            raise ConfigError({f"search.{name}": "is also set as a fixed setting; keep one of them"})
        dimensions.append(_dimension(name, spec, fixed))
    return SearchSpace(fixed, tuple(dimensions))


def read_space(path: Path, overrides: Mapping[str, Any] | None = None,
               base: Mapping[str, Any] | None = None) -> SearchSpace:
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError({"space": f"{path}: no such file"}) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError({"space": f"{path}: not a valid TOML search space: {exc}"}) from None
    return parse_space(data, overrides, base)

