"""Config files: TOML (``--config run.toml``) or a run's ``config.json``; flags override them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from lorasent_tui.core.config import FIELD_NAMES, TrainConfig, build_config, saved_values
from lorasent_tui.core.errors import ConfigError

RUN_CONFIG = "config.json"  # a run folder's record of its settings (core.store)
UNSET = "none"  # an unset optional setting in TOML, which has no null (config.coerce reads it)


def read_config_file(path: Path) -> dict[str, Any]:
    """Settings from a TOML or JSON file, as a flat mapping (a ``[train]`` table is accepted).

    A run folder's ``config.json`` means what it meant to that run: settings it predates keep
    the behaviour the run had, so ``--config runs/RUN/config.json`` is the run's own config.
    """
    import tomllib

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError({"config": f"{path}: no such file"}) from None
    except OSError as exc:
        raise ConfigError({"config": f"{path}: {exc.strerror or exc}"}) from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError({"config": f"{path}: not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}"}) from None
    if isinstance(data, dict) and isinstance(data.get("train"), dict):
        data = data["train"]
    if not isinstance(data, dict):
        raise ConfigError({"config": f"{path}: expected a table of settings"})
    values = {key.replace("-", "_"): value for key, value in data.items()}
    if path.name == RUN_CONFIG and (path.parent / "status.json").is_file():
        values = saved_values(values)
    return values


def resolve_config(config_file: str | Path | None, preset: str | None,
                   flags: Mapping[str, Any]) -> TrainConfig:
    """The config of the command line: flags override the config file, which overrides the preset.

    ``flags`` maps field names to values (None: not given); keys that are not fields are ignored,
    so an ``argparse`` namespace's ``vars()`` can be passed as it is.
    """
    values: dict[str, Any] = {}
    if config_file:
        values.update(read_config_file(Path(config_file)))
    if preset:
        values["preset"] = preset
    values.update({name: flags[name] for name in FIELD_NAMES if flags.get(name) is not None})
    return build_config(values)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def config_to_toml(config: TrainConfig) -> str:
    lines = ["# lorasent-tui training settings: lorasent-tui train --config FILE", ""]
    for key, value in config.to_dict().items():
        # An unset optional setting is written too: left out, the preset's value would apply.
        lines.append(f"{key} = {_toml_value(UNSET if value is None else value)}")
    return "\n".join(lines) + "\n"
