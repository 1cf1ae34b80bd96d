from textual.command import CommandPalette

from tests.tui.conftest import run_async, run_command, settle, wait_until


def test_command_palette_starts_training(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            await run_command(pilot, "start training")
            await settle(pilot)
            assert len(app.services.trainer.calls) == 1
            assert app.train_panel.state == "completed"

    run_async(scenario())


def test_small_terminal_every_tab_renders(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.screen.has_class("-narrow")
            await pilot.press("ctrl+s")
            await settle(pilot)
            for key, tab in (("f2", "predict"), ("f3", "runs"), ("f1", "train")):
                await pilot.press(key)
                await settle(pilot)
                assert app.query_one("#main-tabs").active == tab
            assert app.query_one("#start").region.width > 0  # visible, not squeezed out

    run_async(scenario())


def test_footer_bindings_have_ids(app_factory):
    app = app_factory()
    ids = {b.id for b in app.BINDINGS if getattr(b, "show", True)}
    assert {"tab-train", "tab-predict", "tab-runs", "start-training", "stop-training"} <= ids


def test_footer_rebuilds_only_when_its_keys_change(app_factory):
    from textual.widgets._footer import FooterKey

    from lorasent_tui.tui.widgets.footer import StableFooter

    app = app_factory()

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            footer = app.query_one(StableFooter)
            rebuilds = []
            original = footer.recompose

            async def counting_recompose():
                rebuilds.append(app.query_one("#main-tabs").active)
                await original()

            footer.recompose = counting_recompose

            def shown():
                return {key.description for key in footer.query(FooterKey)}

            await wait_until(pilot, lambda: "Predict" in shown())  # the footer's first compose
            rebuilds.clear()
            before = shown()
            for key in ("f2", "f3", "f1", "f3"):  # every tab shows the same keys: no rebuild
                await pilot.press(key)
                await settle(pilot)
                assert rebuilds == [] and shown() == before
            assert "Resume" not in before  # the Runs tab lists its keys in its own hint line
            assert "u resume" in str(app.query_one("#runs-info").render())
            await pilot.press("ctrl+s")  # Start dims and Stop lights up: that is a change
            await settle(pilot)
            assert rebuilds

    run_async(scenario())


def test_settings_hints_show_for_the_focused_field(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            form = app.train_panel.form
            form.query_one("#field-lora_layers").focus()
            await pilot.pause()
            assert "top N layers" in str(form.query_one("#field-help").render())
            assert "top N layers" in str(form.query_one("#field-lora_layers").tooltip)

    run_async(scenario())


def test_palette_shows_every_command_with_the_key_that_does_it(app_factory):
    from textual.command import CommandList

    from lorasent_tui.tui.app import LorasentApp
    from lorasent_tui.tui.commands import COMMAND_LIST, all_bindings, find_binding, key_text

    bindings = all_bindings()
    for command in COMMAND_LIST:
        binding = find_binding(bindings, command.binding)
        if not command.where:  # an app key: the very action the palette entry runs
            assert binding in LorasentApp.BINDINGS and binding.action == command.action, command.title
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: CommandPalette.is_open(app))
            results = app.screen.query_one(CommandList)
            await wait_until(pilot, lambda: results.option_count >= len(COMMAND_LIST))
            shown = {}
            for index in range(results.option_count):
                hit = results.get_option_at_index(index).hit
                shown[str(hit.prompt if hasattr(hit, "prompt") else hit.display)] = hit.help or ""
            for command in COMMAND_LIST:
                keys = key_text(find_binding(bindings, command.binding))
                help_text = next(text for title, text in shown.items() if command.title in title)
                assert help_text.endswith(keys) or f"· {keys} on the" in help_text, (command.title, help_text)
            await pilot.press("escape")

    run_async(scenario())


def test_load_settings_key_is_the_same_in_palette_and_readme():
    from pathlib import Path

    from lorasent_tui.tui.commands import all_bindings, find_binding, key_text

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for binding_id in ("load-settings", "save-settings", "reset-settings", "save-screenshot",
                       "preview-data", "start-training", "stop-training"):
        assert key_text(find_binding(all_bindings(), binding_id)) in readme, binding_id
