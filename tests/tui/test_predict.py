import pytest
from textual.app import App

from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.predict_panel import EXAMPLES, NO_RUN_HINT
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.predict_panel import NON_LATIN_NOTE
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until
from tests.tui.fakes import FakePredictorFactory


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
            # The predicted class with its own probability: P(negative) = 1 - 0.08.
            assert cells(app, "trained")[1].startswith("negative 0.92")

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


def bars(app):
    return app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)


def text_of(app, selector):
    return str(app.query_one(selector).render())


async def load_only_run(pilot):
    """Runs tab, p on the (only) run: Predict then scores with it."""
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


def test_clearing_the_input_clears_the_verdicts(app_factory, tmp_path):
    app = app_factory()
    make_run(tmp_path / "runs")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            base, trained = bars(app)
            await pilot.press(*"great", "enter")
            await settle(pilot)
            assert trained.label == "positive" and base.label == "positive"
            await pilot.press("ctrl+u")  # the input is empty now: no scores of a text not there
            await pilot.pause()
            assert (base.label, trained.label) == (None, None)
            assert "type a review" in str(trained.render())
            await settle(pilot)  # nothing in flight brings them back
            assert (base.label, trained.label) == (None, None)

    run_async(scenario())


def test_deleting_the_loaded_run_unloads_it(app_factory, tmp_path):
    app = app_factory()
    run = make_run(tmp_path / "runs")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_only_run(pilot)
            await pilot.press(*"great", "enter")
            await settle(pilot)
            assert text_of(app, "#trained-title") == f"Fine-tuned: {run.run_id}"
            await pilot.press("f3", "d")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await settle(pilot)
            await pilot.press("f2")
            await settle(pilot)
            panel = app.predict_panel
            assert panel.run_id is None and panel.trained is None
            assert text_of(app, "#trained-title") == "Fine-tuned: no run loaded"
            assert f"Run {run.run_id} was deleted, so it is unloaded" in text_of(app, "#predict-source")
            base, trained = bars(app)
            assert trained.label is None and NO_RUN_HINT in str(trained.render())
            assert base.label == "positive"  # the base still scores the text
            assert cells(app, "trained") == ["–"] * 5
            await pilot.press("ctrl+u", *"not good", "enter")
            await settle(pilot)
            assert trained.label is None and base.label == "positive"

    run_async(scenario())


def test_a_run_that_fails_to_load_replaces_the_loaded_one(app_factory, tmp_path):
    class BreaksOnSecondRun(FakePredictorFactory):
        def from_run(self, ref, runs_dir):
            if self.loaded_runs:
                raise OSError("adapter_model.safetensors is damaged")
            return super().from_run(ref, runs_dir)

    app = app_factory(predictor_factory=BreaksOnSecondRun())
    make_run(tmp_path / "runs", "run-a")
    make_run(tmp_path / "runs", "run-b")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.predict_panel.load_run("run-a")
            await settle(pilot)
            assert app.predict_panel.run_id == "run-a"
            app.predict_panel.load_run("run-b")
            await settle(pilot)
            assert "Could not load the model: OSError: adapter_model.safetensors" in status_text(app)
            panel = app.predict_panel
            assert panel.run_id is None and panel.trained is None  # not still scoring with run-a
            assert text_of(app, "#trained-title") == "Fine-tuned: no run loaded"
            assert "Run run-b could not be loaded" in text_of(app, "#predict-source")

    run_async(scenario())


def shown_text(widget) -> str:
    lines = widget.render_lines(widget.region.reset_offset)
    return " ".join(" ".join(line.text for line in lines).split())


@pytest.mark.parametrize("size", [(80, 24), SIZE])
def test_the_no_run_hint_is_shown_whole(app_factory, size):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            assert NO_RUN_HINT in shown_text(bars(app)[1])

    run_async(scenario())


def test_a_placeholder_too_long_for_its_bar_wraps():
    class Narrow(App):
        CSS = "ProbBar { width: 20; }"

        def compose(self):
            yield ProbBar()

    async def scenario():
        app = Narrow()
        async with app.run_test(size=(40, 10)) as pilot:
            bar = app.query_one(ProbBar)
            bar.clear(NO_RUN_HINT)
            await pilot.pause()
            assert bar.size.height > 1 and shown_text(bar) == NO_RUN_HINT

    run_async(scenario())


def test_long_and_non_latin_texts_say_how_they_were_read(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            review = app.query_one("#review")
            review.value = " ".join(["good"] * 30)
            await pilot.press("enter")
            await settle(pilot)
            note = text_of(app, "#reading-note")
            assert note == "Long text (30 tokens): cut to 20 tokens keeping its start and end; the rest is not read."
            review.value = "この映画は本当に素晴らしかった"
            await pilot.press("enter")
            await settle(pilot)
            assert text_of(app, "#reading-note") == NON_LATIN_NOTE
            review.value = "good"
            await pilot.press("enter")
            await settle(pilot)
            assert text_of(app, "#reading-note") == ""

    run_async(scenario())
