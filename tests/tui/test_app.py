from textual.command import CommandPalette

from tests.tui.conftest import run_async, settle, wait_until


def test_command_palette_starts_training(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+p")
            await wait_until(pilot, lambda: CommandPalette.is_open(app))
            await pilot.press(*"start training")
            await pilot.pause(0.3)
            await pilot.press("enter")
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
