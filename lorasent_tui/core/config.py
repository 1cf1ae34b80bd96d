"""Training configuration: one dataclass, two presets, validation with per-field messages."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any

from lorasent_tui.core.errors import ConfigError
from lorasent_tui.core.labels import check_names
from lorasent_tui.core.precision import PRECISIONS

DEFAULT_MODEL = "minilm"
DEFAULT_DATASET = "imdb"
TRUNCATION_SIDES = ("left", "right", "head_tail")
DEVICES = ("auto", "cpu", "cuda", "mps")
CLASS_WEIGHTS = ("none", "balanced")
# How sliding windows read a long text (core/views.py): the fewest covering windows, or the cut
# view plus windows half a window apart (the layout of runs saved before window_layout).
WINDOW_LAYOUTS = ("cover", "overlap")
# The built-in unlabeled source: IMDb reviews in none of the run's splits (core/data/unlabeled.py).
UNLABELED_BUILTIN = "imdb-unlabeled"
MAX_ROWS = 10_000_000


@dataclass
class TrainConfig:
    model: str = DEFAULT_MODEL
    preset: str = "fast"
    dataset: str = DEFAULT_DATASET
    text_column: str = "text"
    label_column: str = "label"
    # The class names in class-id order (--labels a,b,c): the data must hold only these (or
    # ids 0..N-1). None: from the data (core/labels.py), negative/positive for binary data.
    labels: list[str] | None = None
    # Balanced splits where every class has enough rows (else stratified, with a warning);
    # False always keeps the data's class proportions.
    balance: bool = True
    train_size: int = 1000
    eval_size: int = 1000
    # A third, held-out split scored once with the best epoch when the run completes (0: none).
    test_size: int = 0
    epochs: int = 3
    learning_rate: float = 1e-3
    # The classification head is freshly initialised, so it may learn faster than the adapters.
    head_learning_rate: float | None = None
    batch_size: int = 16
    eval_batch_size: int = 64
    max_length: int = 256
    truncation: str = "head_tail"
    # Also read texts longer than max_length as overlapping windows at evaluation and prediction,
    # averaging the views' log-probabilities (see core/views.py); the model is unchanged.
    sliding_windows: bool = False
    window_layout: str = "cover"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # Role names (query, key, value, attn_out, ffn_in, ffn_out) or literal module names;
    # roles are mapped to each architecture's own module names.
    target_modules: list[str] = field(default_factory=lambda: ["query", "value"])
    # LoRA only in the top N encoder layers (None: all). The frozen layers below are then
    # computed once and cached for BERT models, which makes each epoch much cheaper.
    lora_layers: int | None = None
    # Train the pre-trained pooler (BERT/ALBERT's [CLS] projection) fully, with the head: the
    # bundled MiniLM never trained its pooler, and a fresh head learns far faster through it.
    train_pooler: bool = False
    # Dropout inside the pre-trained encoder (None keeps the model's own, 0.1 for BERT). LoRA
    # barely needs it, and on CPUs the random masks cost more than a quarter of each step.
    model_dropout: float | None = None
    weight_decay: float = 0.01
    # "balanced": weight each class's loss by its inverse frequency in the train split, for
    # imbalanced data; "none": every review counts the same.
    class_weights: str = "none"
    # Fit temperature scaling on the best epoch's validation predictions when training ends
    # (core/calibration.py); the run's probabilities are then the calibrated ones.
    calibrate: bool = False
    warmup_ratio: float = 0.0
    # Evaluate, pseudo-label and save an exponential moving average of the trained weights with
    # this per-step decay (core/weight_average.py); 0: the weights of the last step.
    ema_decay: float = 0.0
    # Also train on each train review's last sentence, with its label (core/short_crops.py):
    # better verdicts for the one-sentence texts people type.
    short_crops: bool = False
    # Unlabeled texts for self-training (core/pseudo_labels.py): a data file's text column, or
    # "imdb-unlabeled" (built-in IMDb reviews in none of the run's splits); None: labels only.
    unlabeled: str | None = None
    # At most this many unlabeled texts, sampled by the seed: each epoch scores all of them.
    unlabeled_size: int = 2000
    # Only texts the model classifies with at least this probability get a pseudo-label.
    pseudo_threshold: float = 0.9
    # The pseudo-labelled batch's loss, relative to the labelled batch's (FixMatch's lambda_u).
    unlabeled_weight: float = 1.0
    # Pseudo-labelled texts per labelled text in a step (FixMatch's mu).
    unlabeled_ratio: int = 1
    # The student reads a noised copy of each pseudo-labelled text: a random crop, then this share
    # of its tokens dropped (core/pseudo_labels.py). 0: the very text the teacher labelled.
    pseudo_noise: float = 0.15
    # A finished run (id, or path to its folder) whose best epoch pseudo-labels the unlabeled texts
    # before the first epoch, so that the run self-trains from its first step (Noisy Student's
    # teacher); None: the first epoch trains on labels alone.
    teacher: str | None = None
    length_bucketing: bool = True
    seed: int = 42
    device: str = "auto"
    # auto: bf16 autocast where the device computes bf16 natively (recent CPUs and GPUs).
    precision: str = "auto"
    # More than one: data-parallel training in a torchrun job (one process per GPU).
    processes: int = 1
    logging_steps: int = 10

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    # The reference recipe from the report this tool grew out of.
    "seed": dict(
        epochs=10, learning_rate=1e-3, head_learning_rate=None, batch_size=4, eval_batch_size=4,
        max_length=512, truncation="left", sliding_windows=False, lora_r=4, lora_alpha=32, lora_dropout=0.01,
        target_modules=["query"], lora_layers=None, model_dropout=None, precision="fp32", train_pooler=False,
        weight_decay=0.01, warmup_ratio=0.0,
        length_bucketing=False,
    ),
    # Tuned for speed at equal or better accuracy (see bench/ and the README).
    "fast": dict(
        epochs=3, learning_rate=1e-3, head_learning_rate=5e-3, batch_size=8, eval_batch_size=64,
        max_length=256, truncation="head_tail", sliding_windows=True, lora_r=8, lora_alpha=16, lora_dropout=0.0,
        model_dropout=0.0, precision="auto", train_pooler=True,
        target_modules=["query", "key", "value", "attn_out", "ffn_in", "ffn_out"],
        weight_decay=0.01, warmup_ratio=0.06, length_bucketing=True,
        # With the average, seeds 42-44 reached 0.883 on validation (mean best epoch) against
        # 0.879, and no epoch fell more than 0.4 points below the one before it, against 3
        # without (bench/results/quality_fast_ema099_3seeds.json).
        ema_decay=0.99,
    ),
}

# Settings added after runs were first saved, with the behaviour a config.json without them had:
# an older run keeps predicting (and resuming) the way its metrics were measured.
BEHAVIOUR_BEFORE: dict[str, Any] = {
    "sliding_windows": False, "labels": None, "balance": True, "class_weights": "none",
    "test_size": 0, "ema_decay": 0.0, "window_layout": "overlap",
    "short_crops": False, "pseudo_noise": 0.0,
}

FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))
_FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}
# Settings whose None is a value ("unset": all layers, the model's own dropout, the LoRA rate).
OPTIONAL_FIELDS = tuple(name for name, kind in _FIELD_TYPES.items() if "None" in kind)


def coerce(name: str, value: Any) -> Any:
    """Convert a flag, form or file value to the field's type; ValueError says why not."""
    kind = _FIELD_TYPES[name]
    if value is None:
        if "None" in kind:
            return None
        raise ValueError("a value is required")
    if "list" in kind:
        if "None" in kind and isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        if isinstance(value, str):
            items = [v.strip() for v in value.replace(";", ",").split(",")]
        elif isinstance(value, (list, tuple)):
            items = [str(v).strip() for v in value]
        else:
            raise ValueError("expected a comma-separated list")
        items = [v for v in items if v]
        if not items:
            raise ValueError("at least one value is required")
        return items
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if kind.startswith("int"):
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value)
        text = str(value).strip()
        if isinstance(value, str) and "None" in kind and text.lower() in ("", "none"):
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
    if kind.startswith("float"):
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        text = str(value).strip()
        if "None" in kind and text.lower() in ("", "none"):
            return None
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {text!r}")
        return number
    text = str(value).strip()
    if "None" in kind and text.lower() in ("", "none"):
        return None
    if not text:
        raise ValueError("a value is required")
    return text


def _check_ranges(cfg: TrainConfig) -> dict[str, str]:
    errors: dict[str, str] = {}

    def need(name: str, ok: bool, message: str) -> None:
        if not ok and name not in errors:
            errors[name] = message

    need("preset", cfg.preset in PRESETS, f"unknown preset {cfg.preset!r}; choose {', '.join(PRESETS)}")
    need("train_size", 2 <= cfg.train_size <= MAX_ROWS, f"must be between 2 and {MAX_ROWS:,}")
    need("eval_size", 2 <= cfg.eval_size <= MAX_ROWS, f"must be between 2 and {MAX_ROWS:,}")
    need("test_size", 0 <= cfg.test_size <= MAX_ROWS, f"must be between 0 (none) and {MAX_ROWS:,}")
    need("epochs", 1 <= cfg.epochs <= 1000, "must be between 1 and 1000")
    need("learning_rate", 0 < cfg.learning_rate <= 1, "must be > 0 and at most 1")
    if cfg.head_learning_rate is not None:
        need("head_learning_rate", 0 < cfg.head_learning_rate <= 1, "must be > 0 and at most 1")
    need("batch_size", 1 <= cfg.batch_size <= 4096, "must be between 1 and 4096")
    need("eval_batch_size", 1 <= cfg.eval_batch_size <= 4096, "must be between 1 and 4096")
    need("max_length", 8 <= cfg.max_length <= 8192, "must be between 8 and the model's limit")
    need("truncation", cfg.truncation in TRUNCATION_SIDES, f"choose {', '.join(TRUNCATION_SIDES)}")
    need("window_layout", cfg.window_layout in WINDOW_LAYOUTS, f"choose {', '.join(WINDOW_LAYOUTS)}")
    need("lora_r", 1 <= cfg.lora_r <= 1024, "must be between 1 and 1024")
    need("lora_alpha", 1 <= cfg.lora_alpha <= 100_000, "must be between 1 and 100000")
    need("lora_dropout", 0 <= cfg.lora_dropout < 1, "must be >= 0 and < 1")
    if cfg.model_dropout is not None:
        need("model_dropout", 0 <= cfg.model_dropout < 1, "must be >= 0 and < 1 (or empty for the model's own)")
    if cfg.lora_layers is not None:
        need("lora_layers", 1 <= cfg.lora_layers <= 1000, "must be between 1 and the model's layer count")
    need("weight_decay", 0 <= cfg.weight_decay < 1, "must be >= 0 and < 1")
    need("warmup_ratio", 0 <= cfg.warmup_ratio < 1, "must be >= 0 and < 1")
    need("ema_decay", 0 <= cfg.ema_decay < 1, "must be >= 0 (0: off) and < 1")
    need("unlabeled_size", 1 <= cfg.unlabeled_size <= MAX_ROWS, f"must be between 1 and {MAX_ROWS:,}")
    need("pseudo_threshold", 0 < cfg.pseudo_threshold < 1, "must be > 0 and < 1")
    need("unlabeled_weight", 0 <= cfg.unlabeled_weight <= 100, "must be between 0 and 100")
    need("pseudo_noise", 0 <= cfg.pseudo_noise < 1, "must be >= 0 (0: none) and < 1")
    need("unlabeled_ratio", 1 <= cfg.unlabeled_ratio <= 16, "must be between 1 and 16")
    need("teacher", cfg.teacher is None or bool(cfg.unlabeled),
         "needs unlabeled texts to label (--unlabeled)")
    need("seed", 0 <= cfg.seed < 2**32, "must be between 0 and 2**32 - 1")
    need("processes", 1 <= cfg.processes <= 64, "must be between 1 and 64")
    need("precision", cfg.precision in PRECISIONS, f"choose {', '.join(PRECISIONS)}")
    need("logging_steps", 1 <= cfg.logging_steps <= 100_000, "must be between 1 and 100000")
    device_ok = cfg.device in DEVICES or cfg.device.startswith("cuda:")
    need("device", device_ok, f"choose {', '.join(DEVICES)} (or cuda:N)")
    for name in ("model", "dataset", "text_column", "label_column"):
        need(name, bool(getattr(cfg, name).strip()), "a value is required")
    need("target_modules", bool(cfg.target_modules), "at least one module is required")
    need("class_weights", cfg.class_weights in CLASS_WEIGHTS, f"choose {', '.join(CLASS_WEIGHTS)}")
    if cfg.labels is not None:
        try:
            check_names(cfg.labels)
        except ValueError as exc:
            need("labels", False, str(exc))
    return errors


def build_config(values: dict[str, Any] | None = None) -> TrainConfig:
    """Preset defaults, then ``values`` on top; every problem is reported at once.

    ``values`` may hold strings (form fields, flags) or typed values (JSON, TOML). None means
    "unset" for an optional setting (it overrides the preset, so a saved config that left it
    unset reproduces exactly) and "not given" for any other.
    """
    values = {k: v for k, v in (values or {}).items() if v is not None or k in OPTIONAL_FIELDS}
    errors: dict[str, str] = {}
    unknown = sorted(set(values) - set(FIELD_NAMES))
    for name in unknown:
        errors[name] = "unknown setting"
    preset_name = str(values.get("preset", "fast")).strip()
    if preset_name not in PRESETS:
        errors["preset"] = f"unknown preset {preset_name!r}; choose {', '.join(PRESETS)}"
        preset_name = "fast"
    merged: dict[str, Any] = {**PRESETS[preset_name], "preset": preset_name}
    for name, raw in values.items():
        if name in unknown or name == "preset":
            continue
        try:
            merged[name] = coerce(name, raw)
        except (ValueError, TypeError) as exc:
            errors[name] = str(exc)
    cfg = TrainConfig(**merged)
    # Range problems of the fields that did parse are reported alongside the parse errors.
    errors = {**_check_ranges(cfg), **errors}
    if errors:
        raise ConfigError(errors)
    return cfg


def validate(cfg: TrainConfig) -> TrainConfig:
    errors = _check_ranges(cfg)
    if errors:
        raise ConfigError(errors)
    return cfg


def saved_values(data: dict[str, Any]) -> dict[str, Any]:
    """The settings of a run's saved ``config.json``, including those it predates (with the
    behaviour the run had then: see BEHAVIOUR_BEFORE)."""
    return {**{k: v for k, v in BEHAVIOUR_BEFORE.items() if k not in data}, **data}


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a config saved as ``config.json`` (all fields present, preset applied already)."""
    values = saved_values(data)
    preset = values.pop("preset", "fast")
    errors: dict[str, str] = {}
    merged: dict[str, Any] = {**PRESETS.get(preset, PRESETS["fast"]), "preset": preset}
    for name, raw in values.items():
        if name not in FIELD_NAMES:
            errors[name] = "unknown setting"
            continue
        try:
            merged[name] = coerce(name, raw)
        except (ValueError, TypeError) as exc:
            errors[name] = str(exc)
    if errors:
        raise ConfigError(errors)
    return validate(TrainConfig(**merged))
