"""Why this label on the Predict tab (ctrl+e), with the fake keyword explainer (tests/tui/fakes.py)."""

import threading

from rich.text import Text
from textual.widgets import Input, Static

from lorasent_tui.tui.predict_panel import EXPLAIN_HINT
from lorasent_tui.tui.widgets.explanation import AWAY_RGB, TOWARDS_RGB, ExplanationView
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import SIZE, make_run, run_async, settle, wait_until


def shown(app) -> Text:
    content = app.query_one(ExplanationView).query_one(Static).content
    return content if isinstance(content, Text) else Text(str(content))


def background_of(text: Text, word: str) -> tuple[int, int, int] | None:
    """The background colour the first ``word`` in ``text`` is shown on (None: not coloured)."""
    start = text.plain.index(word)
    for span in text.spans:
        if span.start <= start < span.end and span.style and span.style.bgcolor:
            return tuple(span.style.bgcolor.get_truecolor())
    return None


async def load_run_and_type(pilot, app, text):
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("p")  # the only run is selected
    await settle(pilot)
    await pilot.press(*text)
    await wait_until(pilot, lambda: app.query_one("#trained-bar", ProbBar).label is not None)


def test_ctrl_e_colours_the_words_towards_and_away_from_the_label(app_factory, runs_dir):
    app = app_factory()
    run = make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_run_and_type(pilot, app, "not good at all")
            view = app.query_one(ExplanationView)
            assert str(shown(app)) == EXPLAIN_HINT and view.explanation is None
            await pilot.press("ctrl+e")
            await wait_until(pilot, lambda: view.explanation is not None)
            assert app.query_one("#review", Input).value == "not good at all"  # ctrl+e did not move the cursor
            text = shown(app)
            # The fine-tuned run's verdict (negative) is explained: "not" pushed towards it, "good" away.
            assert text.plain.startswith(f"Why negative (P 0.92, run {run.run_id})")
            assert "not good at all" in text.plain
            assert "towards negative: not +1.00" in text.plain and "away from it: good -1.00" in text.plain
            body_start = text.plain.index("not good at all")
            assert background_of(text[body_start:], "not") == TOWARDS_RGB
            assert background_of(text[body_start:], "good") == AWAY_RGB
            assert background_of(text[body_start:], "at") is None  # no push, no colour
            assert app.services.predictors.explainers == [(app.predict_panel.trained, run.run_id)]

            await pilot.press("backspace")  # the text changed: its old explanation goes
            assert view.explanation is None and str(shown(app)) == EXPLAIN_HINT
            await pilot.press("l", "ctrl+e")
            await wait_until(pilot, lambda: view.explanation is not None)
            assert len(app.services.predictors.explainers) == 1  # the same model's explainer again

    run_async(scenario())


def test_explaining_runs_in_a_worker_and_a_stale_answer_is_dropped(app_factory, runs_dir):
    app = app_factory()
    make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_run_and_type(pilot, app, "great")
            factory = app.services.predictors
            factory.explain_hold = threading.Event()
            view = app.query_one(ExplanationView)
            await pilot.press("ctrl+e")
            await pilot.pause()
            assert "Explaining with run" in str(shown(app))
            await pilot.press(*" fun")  # the UI answers while the explanation is computed
            assert app.query_one("#review", Input).value == "great fun"
            factory.explain_hold.set()
            await settle(pilot)
            assert factory.explained == ["great"]  # it finished, for a text no longer there
            assert view.explanation is None and str(shown(app)) == EXPLAIN_HINT

    run_async(scenario())


def test_ctrl_e_without_text_or_model_says_what_is_missing(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            await pilot.press("ctrl+e")
            assert str(shown(app)) == "Type a review to explain first."
            await pilot.press(*"great", "ctrl+e")  # no run: the untrained base is explained
            view = app.query_one(ExplanationView)
            await wait_until(pilot, lambda: view.explanation is not None)
            assert str(shown(app)).startswith("Why positive (P 0.55, the untrained base)")

    run_async(scenario())


def test_a_failed_explanation_is_a_line_in_the_view(app_factory, runs_dir):
    app = app_factory()
    make_run(runs_dir)

    def broken(predictor, runs_dir, run_id=None):
        raise OSError("model folder not found: /nowhere")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await load_run_and_type(pilot, app, "great")
            app.services.predictors.explainer = broken
            await pilot.press("ctrl+e")
            await settle(pilot)
            assert str(shown(app)).startswith("Could not explain: ")
            assert "/nowhere" in str(shown(app))

    run_async(scenario())


def test_services_keep_one_explainer_per_model_for_the_last_few_models(tmp_path):
    from lorasent_tui.tui.services import EXPLAINERS_KEPT, Services
    from tests.tui.fakes import FakePredictorFactory, KeywordPredictor

    services = Services(runs_dir=tmp_path, predictors=FakePredictorFactory())
    models = [KeywordPredictor(trained=True) for _ in range(EXPLAINERS_KEPT + 1)]
    assert services.explain(models[0], "great", run_id="r0").target == "positive"
    services.explain(models[0], "not great")
    assert len(services.predictors.explainers) == 1  # the same model: its explainer again
    for model in models[1:]:
        services.explain(model, "great")
    assert len(services.explainers) == EXPLAINERS_KEPT  # the oldest was let go
    services.explain(models[0], "great")
    assert len(services.predictors.explainers) == EXPLAINERS_KEPT + 2  # and is made anew
