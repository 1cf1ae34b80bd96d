from lorasent_tui.core.config import PRESETS
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
