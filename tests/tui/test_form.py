from textual.widgets import Collapsible

from lorasent_tui.core.config import FIELD_NAMES, PRESETS, build_config
from lorasent_tui.tui.settings_form import FORM_FIELDS, SPECS
from tests.tui.conftest import SIZE, run_async, settle, status_text


async def type_into(pilot, field: str, text: str) -> None:
    widget = pilot.app.query_one(f"#field-{field}")
    widget.focus()
    widget.clear()
    await pilot.press(*text)
    await pilot.pause()


def error_of(app, field: str) -> str:
    shown = app.query(f"#error-{field}")  # mounted only while the field has an error
    return str(shown.first().render()) if shown else ""


def test_invalid_values_are_flagged_and_start_is_refused(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_r", "-1")
            await type_into(pilot, "learning_rate", "abc")
            assert "must be between 1 and 1024" in error_of(app, "lora_r")
            assert "expected a number" in error_of(app, "learning_rate")
            assert app.query_one("#field-lora_r").has_class("has-error")

            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.services.trainer.calls == []
            assert "fix the settings" in status_text(app)
            assert app.focused.id == "field-learning_rate"  # taken to the first bad field (form order)

            await type_into(pilot, "lora_r", "4")
            await type_into(pilot, "learning_rate", "0.002")
            assert error_of(app, "lora_r") == "" and error_of(app, "learning_rate") == ""
            await pilot.click("#start")
            await settle(pilot)
            (config,) = app.services.trainer.calls
            assert config.lora_r == 4 and config.learning_rate == 0.002

    run_async(scenario())


def test_changing_preset_refills_its_settings(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "model", "albert-base-v2")
            app.query_one("#field-preset").value = "seed"
            await pilot.pause()
            values = app.train_panel.form.values()
            seed = PRESETS["seed"]
            assert values["lora_r"] == str(seed["lora_r"])
            assert values["epochs"] == str(seed["epochs"])
            assert values["target_modules"] == ", ".join(seed["target_modules"])
            assert values["model"] == "albert-base-v2"  # not a preset setting: kept
            config = app.train_panel.form.validate()
            assert config.preset == "seed" and config.truncation == seed["truncation"]

    run_async(scenario())


def test_preset_keeps_edited_fields_and_says_what_it_changed(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "epochs", "7")
            await type_into(pilot, "batch_size", "32")
            app.query_one("#field-preset").value = "seed"
            await pilot.pause()
            values = app.train_panel.form.values()
            assert values["epochs"] == "7" and values["batch_size"] == "32"  # the user's, kept
            assert values["max_length"] == str(PRESETS["seed"]["max_length"])  # not edited: the preset's
            status = status_text(app)
            assert "Preset seed changed" in status and "kept your Epochs, Batch size" in status
            (note,) = app._notifications
            assert "Max tokens 256 → 512" in note.message and "Epochs" not in note.message
            # Changing back: the fields the preset set are the app's again, and follow it.
            app.query_one("#field-preset").value = "fast"
            await pilot.pause()
            values = app.train_panel.form.values()
            assert values["max_length"] == str(PRESETS["fast"]["max_length"])
            assert values["epochs"] == "7"

    run_async(scenario())


def test_status_error_goes_once_the_settings_are_fixed(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_r", "-1")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "fix the settings" in status_text(app)
            assert app.query_one("#status-line").has_class("-error")
            await type_into(pilot, "lora_r", "4")
            await pilot.pause()
            assert "lora_r" not in status_text(app) and "valid now" in status_text(app)
            assert not app.query_one("#status-line").has_class("-error")

            # The same through Preview: the refusal goes once the field is fixed.
            await type_into(pilot, "epochs", "0")
            await pilot.click("#preview")
            await pilot.pause()
            assert "Fix the settings before previewing" in status_text(app)
            await type_into(pilot, "epochs", "2")
            await pilot.click("#preview")
            await settle(pilot)
            assert "Fix the settings" not in status_text(app)
            assert not app.query_one("#status-line").has_class("-error")

    run_async(scenario())


def test_advanced_section_has_every_other_setting_and_starts_collapsed(app_factory):
    config = build_config({"epochs": 2, "warmup_ratio": 0.1, "sliding_windows": False,
                           "head_learning_rate": None, "precision": "fp32"})
    app = app_factory(config=config)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            form = app.train_panel.form
            assert set(FORM_FIELDS) == set(FIELD_NAMES)  # every TrainConfig setting has a field
            section = form.query_one("#advanced", Collapsible)
            assert section.collapsed
            for name in ("truncation", "sliding_windows", "precision", "head_learning_rate",
                         "warmup_ratio", "weight_decay", "length_bucketing"):
                assert SPECS[name].advanced and section in form.query_one(f"#field-{name}").ancestors
            assert form.validate() == config  # what the form shows is exactly the config, unset ones too

            # A problem in the collapsed section opens it and its title says so.
            form.query_one("#field-warmup_ratio").value = "2"
            await pilot.pause()
            assert not section.collapsed and "1 to fix" in section.title
            assert form.query_one("#error-warmup_ratio").region.height > 0
            section.collapsed = True
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert not section.collapsed and app.focused.id == "field-warmup_ratio"
            await type_into(pilot, "warmup_ratio", "0.2")
            assert section.title == "Advanced"
            await pilot.press("ctrl+s")
            await settle(pilot)
            (started,) = app.services.trainer.calls
            assert started.warmup_ratio == 0.2 and started.precision == "fp32"

    run_async(scenario())
