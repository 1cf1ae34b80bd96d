"""Save settings… / Load settings… (f7 / ctrl+l), --config, and the f12 screenshot."""

from pathlib import Path

from textual.command import CommandPalette

from lorasent_tui.cli import build_tui_parser
from lorasent_tui.core.configfile import read_config_file, resolve_config
from lorasent_tui.tui.app import make_app
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.settings_file import PathScreen
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until
from tests.tui.fakes import FakeDataLoader, FakePredictorFactory, FakeTrainer
from tests.tui.test_form import type_into


async def answer_path(pilot, path=None, wait=True) -> None:
    """Wait for the path prompt; replace its default with ``path`` (if given) and press enter.

    ``wait``: until the save/load worker is done (not when it then asks to confirm).
    """
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, PathScreen))
    if path is not None:
        pilot.app.screen.query_one("#path-input").value = str(path)
    await pilot.press("enter")
    if wait:
        await settle(pilot)


def form_values(app):
    return app.train_panel.form.values()


def test_save_then_load_round_trip(app_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_r", "4")
            await type_into(pilot, "model", "albert-base-v2")
            await pilot.press("f7")
            await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
            assert app.screen.query_one("#path-input").value == "lorasent.toml"  # the default
            await answer_path(pilot)
            saved = read_config_file(tmp_path / "lorasent.toml")
            assert saved["lora_r"] == 4 and saved["model"] == "albert-base-v2"
            assert "Settings saved to lorasent.toml" in status_text(app)

            # Saving over an existing file asks first; "n" keeps it.
            await type_into(pilot, "lora_r", "8")
            await pilot.press("f7")
            await answer_path(pilot, wait=False)
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("n")
            await settle(pilot)
            assert read_config_file(tmp_path / "lorasent.toml")["lora_r"] == 4

            # Load it back (ctrl+l): the form returns to what was saved.
            await pilot.press("ctrl+l")
            await answer_path(pilot)
            assert form_values(app)["lora_r"] == "4"
            assert "Settings loaded from lorasent.toml" in status_text(app)

            # The palette has both entries; escape cancels the prompt and changes nothing.
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: CommandPalette.is_open(app))
            await pilot.press(*"save settings")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, PathScreen)

    run_async(scenario())


def test_invalid_form_is_not_saved(app_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_r", "-1")
            await pilot.press("f7")
            await settle(pilot)
            assert not isinstance(app.screen, PathScreen)
            assert "Settings not saved" in status_text(app) and "lora_r" in status_text(app)
            assert app.focused.id == "field-lora_r"
            assert not (tmp_path / "lorasent.toml").exists()

    run_async(scenario())


def test_bad_files_change_nothing(app_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text('lora_r = "many"\nlearning_rat = 0.1\nepochs = 2\n')
    (tmp_path / "broken.toml").write_text("lora_r = \n")
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            before = form_values(app)
            cases = (("bad.toml", ("learning_rat: unknown setting", "lora_r:")),
                     ("broken.toml", ("not valid toml",)),
                     ("missing.toml", ("no such file",)),
                     (str(tmp_path), ("Settings not loaded",)))  # a folder: unreadable
            for name, expected in cases:
                await pilot.press("ctrl+l")
                await answer_path(pilot, name)
                for text in expected:
                    assert text in status_text(app), (name, status_text(app))
                assert form_values(app) == before
            # Still usable: tabs switch and a good file loads.
            await pilot.press("f2")
            assert app.query_one("#main-tabs").active == "predict"
            (tmp_path / "good.json").write_text('{"epochs": 5, "lora-r": 16}')
            await pilot.press("f8")
            await answer_path(pilot, "good.json")
            assert form_values(app)["epochs"] == "5" and form_values(app)["lora_r"] == "16"

    run_async(scenario())


def test_config_flag_fills_the_form_and_is_the_default_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text('[train]\nmodel = "albert-base-v2"\nlora_r = 12\n')
    args = build_tui_parser().parse_args(["--config", "mine.toml", "--epochs", "2"])
    app = make_app(resolve_config(args.config, args.preset, vars(args)), runs_dir=tmp_path / "runs", trainer=FakeTrainer(),
                   predictor_factory=FakePredictorFactory(), data_loader=FakeDataLoader(),
                   config_path=Path(args.config))

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            values = form_values(app)
            assert (values["model"], values["lora_r"], values["epochs"]) == ("albert-base-v2", "12", "2")
            await pilot.press("f7")
            await wait_until(pilot, lambda: isinstance(app.screen, PathScreen))
            assert app.screen.query_one("#path-input").value == "mine.toml"
            await pilot.press("escape")

    run_async(scenario())


def test_f12_saves_an_svg_screenshot(app_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f12")
            await wait_until(pilot, lambda: list(tmp_path.glob("*.svg")))
            await pilot.pause()
            (svg,) = tmp_path.glob("*.svg")
            assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
            assert svg.name in status_text(app)

    run_async(scenario())
