import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lorasent_tui.core.config import FIELD_NAMES, PRESETS, TrainConfig, build_config, config_from_dict
from lorasent_tui.core.errors import ConfigError


def test_seed_preset_is_the_reference_recipe():
    cfg = build_config({"preset": "seed"})
    assert (cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout) == (4, 32, 0.01)
    assert cfg.target_modules == ["query"]
    assert (cfg.learning_rate, cfg.batch_size, cfg.epochs, cfg.max_length) == (1e-3, 4, 10, 512)
    assert cfg.truncation == "left" and cfg.weight_decay == 0.01


def test_flags_override_preset_and_strings_are_coerced():
    cfg = build_config({"preset": "seed", "lora_r": "8", "learning_rate": "2e-4",
                        "target_modules": "query, value", "length_bucketing": "true"})
    assert cfg.lora_r == 8 and cfg.learning_rate == 2e-4
    assert cfg.target_modules == ["query", "value"] and cfg.length_bucketing is True


@pytest.mark.parametrize("field,value,fragment", [
    ("lora_r", "0", "between 1"), ("lora_r", "-3", "between 1"), ("lora_dropout", "1", "< 1"),
    ("learning_rate", "0", "> 0"), ("batch_size", "0", "between 1"), ("epochs", "0", "between 1"),
    ("learning_rate", "nan", "finite"), ("epochs", "ten", "whole number"), ("preset", "slow", "unknown preset"),
    ("device", "tpu", "choose"), ("max_length", "4", "between 8"), ("truncation", "middle", "choose"),
])
def test_bad_values_name_the_field(field, value, fragment):
    with pytest.raises(ConfigError) as info:
        build_config({field: value})
    assert fragment in info.value.field_errors[field]


def test_all_errors_reported_at_once():
    with pytest.raises(ConfigError) as info:
        build_config({"lora_r": "-1", "learning_rate": "abc", "nonsense": 1})
    assert set(info.value.field_errors) == {"lora_r", "learning_rate", "nonsense"}


def test_json_round_trip():
    cfg = build_config({"preset": "fast", "seed": 7})
    again = config_from_dict(json.loads(cfg.to_json()))
    assert again == cfg


def test_a_run_saved_before_sliding_windows_keeps_reading_one_view():
    saved = json.loads(build_config({"preset": "fast"}).to_json())
    assert saved.pop("sliding_windows") is True
    assert config_from_dict(saved).sliding_windows is False
    assert config_from_dict({**saved, "sliding_windows": True}).sliding_windows is True


NUMERIC = [f for f in FIELD_NAMES if isinstance(getattr(TrainConfig(), f), (int, float))
           and not isinstance(getattr(TrainConfig(), f), bool)]
values = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=12), st.sampled_from(["nan", "inf", "-1", "0", "1e309", ""]))


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(NUMERIC), value=values)
def test_fuzzed_numeric_fields_never_crash(field, value):
    try:
        cfg = build_config({field: value})
    except ConfigError as exc:
        assert exc.field_errors and all(isinstance(m, str) and m for m in exc.field_errors.values())
        return
    number = getattr(cfg, field)
    assert number is None or math.isfinite(number)


def test_presets_are_valid():
    for name in PRESETS:
        build_config({"preset": name})
