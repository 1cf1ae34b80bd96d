"""Save settings… / Load settings… (f7 / ctrl+l), --config, and the f12 screenshot."""

from pathlib import Path


from lorasent_tui.cli import build_tui_parser
from lorasent_tui.core.config import build_config
from lorasent_tui.core.configfile import config_to_toml, read_config_file, resolve_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.launch import make_app
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.settings_file import PathScreen
from tests.tui.conftest import SIZE, run_async, run_command, settle, status_text, wait_until
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
            await run_command(pilot, "save settings")
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


def test_f12_saves_an_svg_screenshot_under_the_runs_folder(app_factory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            shots = app.services.runs_dir / "screenshots"
            await pilot.press("f12")
            await wait_until(pilot, lambda: shots.is_dir() and list(shots.glob("*.svg")))
            await pilot.pause()
            (svg,) = shots.glob("*.svg")
            assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
            assert str(svg) in status_text(app)
            assert any(str(svg) in n.message for n in app._notifications)  # says where
            assert not list(tmp_path.glob("*.svg"))  # nothing in the working directory
            assert RunStore(app.services.runs_dir).list() == []  # the folder is not a run

    run_async(scenario())


def remembering_app(runs_dir, flags):
    return make_app(build_config({"epochs": 3}), runs_dir=runs_dir, trainer=FakeTrainer(),
                    predictor_factory=FakePredictorFactory(), data_loader=FakeDataLoader(), flags=flags)


def test_last_settings_are_remembered_per_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    first = remembering_app(runs, flags={})

    async def train_once():
        async with first.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_r", "12")
            await type_into(pilot, "warmup_ratio", "0.2")
            await pilot.press("ctrl+s")
            await settle(pilot)
            return first.services.trainer.calls[0]

    started = run_async(train_once())
    remembered = runs / "last-settings.toml"
    assert remembered.read_text(encoding="utf-8") == config_to_toml(started)

    # The next launch starts from them; a flag given at launch still wins.
    second = remembering_app(runs, flags={"epochs": "5", "lora_alpha": None})

    async def relaunch():
        async with second.run_test(size=SIZE) as pilot:
            values = form_values(second)
            assert (values["lora_r"], values["warmup_ratio"], values["epochs"]) == ("12", "0.2", "5")
            assert "last used" in status_text(second)
            # F9: back to the preset's defaults, for every setting.
            await pilot.press("f9")
            await pilot.pause()
            assert second.train_panel.form.validate() == build_config({"preset": "fast"})
            assert "defaults" in status_text(second)

    run_async(relaunch())

    # Launched with --config or --preset (flags=None): that config stands as given.
    third = remembering_app(runs, flags=None)

    async def with_config():
        async with third.run_test(size=SIZE):
            assert form_values(third)["lora_r"] == str(build_config({"epochs": 3}).lora_r)

    run_async(with_config())
    # Another runs folder remembers nothing yet.
    assert remembering_app(tmp_path / "other", flags={}).initial_config == build_config({"epochs": 3})


def test_settings_are_remembered_on_quit_too(tmp_path):
    runs = tmp_path / "runs"
    first = remembering_app(runs, flags={})

    async def edit_and_quit():
        async with first.run_test(size=SIZE) as pilot:
            await type_into(pilot, "lora_alpha", "64")
            await type_into(pilot, "epochs", "x")  # invalid when quitting: the last valid is kept
            await pilot.press("ctrl+q")

    run_async(edit_and_quit())
    assert first.services.trainer.calls == []
    second = remembering_app(runs, flags={})
    assert (second.initial_config.lora_alpha, second.initial_config.epochs) == (64, 3)


def test_unusable_remembered_settings_are_reported_not_used(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "last-settings.toml").write_text('lora_r = "many"\n')
    app = remembering_app(runs, flags={})
    assert app.initial_config == build_config({"epochs": 3})

    async def scenario():
        async with app.run_test(size=SIZE):
            assert "not used" in status_text(app) and "lora_r" in status_text(app)

    run_async(scenario())


def test_launch_passes_its_flags_for_the_remembered_settings(monkeypatch):
    """Without --config/--preset the app may start from remembered settings; flags go on top."""
    import lorasent_tui.tui.launch as app_module
    from lorasent_tui.cli import main

    launches = []
    monkeypatch.setattr(app_module, "run_tui", lambda config, runs_dir, **kw: launches.append(kw) or 0)
    assert main(["--epochs", "5"]) == 0
    assert main(["--preset", "seed", "--epochs", "5"]) == 0
    plain, with_preset = launches
    assert plain["flags"]["epochs"] == "5" and plain["flags"]["lora_r"] is None
    assert with_preset["flags"] is None  # the preset's settings stand as given
