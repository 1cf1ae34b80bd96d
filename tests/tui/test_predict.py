from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.predict_panel import EXAMPLES
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until


def make_run(runs_dir, run_id="20250101-000000-minilm-aaaa"):
    run = RunStore(runs_dir).create(build_config({"epochs": 1}), run_id=run_id)
    run.write_metrics([{"epoch": 1, "accuracy": 0.9, "f1": 0.9}])
    run.update_status(state="completed", best_epoch=1, epochs_done=1)
    return run


def cells(app, column):
    return [str(c) for c in app.query_one("#examples").get_column(column)]


def test_base_model_loads_when_tab_opens_and_fills_examples(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            assert app.focused.id == "review"
            await settle(pilot)
            assert app.services.predictors.base_loads == 1
            assert [str(c) for c in app.query_one("#examples").get_column("text")] == list(EXAMPLES)
            assert all(c.startswith("positive 0.55") for c in cells(app, "base"))
            assert cells(app, "trained") == ["–"] * 5

    run_async(scenario())


def test_typing_shows_base_and_trained_side_by_side(app_factory, tmp_path):
    app = app_factory()
    run = make_run(tmp_path / "runs")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("p")  # the only run is selected
            await settle(pilot)
            assert app.query_one("#main-tabs").active == "predict"
            assert app.predict_panel.run_id == run.run_id
            assert cells(app, "trained")[1].startswith("negative 0.08")

            await pilot.press(*"not good at all")  # the debounce fires by itself
            base, trained = app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)
            await wait_until(pilot, lambda: trained.label is not None)
            assert (base.label, base.score) == ("positive", 0.55)
            assert (trained.label, trained.score) == ("negative", 0.08)
            assert "P(positive) 0.08" in str(trained.render())

            await pilot.press("ctrl+u", *"great", "enter")  # Enter predicts at once
            await settle(pilot)
            assert (trained.label, trained.score) == ("positive", 0.93)

    run_async(scenario())


def test_predictor_load_failure_is_reported(app_factory, tmp_path):
    class Broken:
        def from_base(self, config):
            raise OSError("model folder not found: /nowhere")

    app = app_factory(predictor_factory=Broken())

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            assert "Could not load the model: OSError: model folder not found" in status_text(app)
            await pilot.press(*"fine")  # still typing happily
            assert app.query_one("#review").value == "fine"

    run_async(scenario())


def test_a_tab_opened_before_its_panel_is_mounted_gets_focus_when_it_is(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test_at_once(size=SIZE) as pilot:
            await pilot.press("f2")  # possibly before the lazily mounted Predict panel exists
            await wait_until(pilot, lambda: app.focused is not None and app.focused.id == "review",
                             timeout=15)

    run_async(scenario())
