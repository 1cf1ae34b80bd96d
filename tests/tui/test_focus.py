"""Keys typed right after Tab go to the field Tab moved to, however fast they come."""

from textual import events

from tests.tui.conftest import SIZE, run_async, settle


def burst(app, *keys: str) -> None:
    """Keys as a terminal delivers a fast typist's: all queued before any is handled."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


def test_keys_typed_right_after_tab_land_in_the_next_field(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            dataset, text_column = app.query_one("#field-dataset"), app.query_one("#field-text_column")
            dataset.focus()
            await pilot.pause()
            before = dataset.value
            burst(app, "tab", "x", "y")
            await settle(pilot)
            # Focus selects a field's text, so what is typed replaces it.
            assert app.focused is text_column
            assert (dataset.value, text_column.value) == (before, "xy")
            burst(app, "shift+tab", "z")
            await settle(pilot)
            assert app.focused is dataset
            assert (dataset.value, text_column.value) == ("z", "xy")

    run_async(scenario())
