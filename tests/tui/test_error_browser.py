"""The error browser (x in a run's detail): kept predictions, confidently wrong first, filtered,
searched, opened and explained with the fake keyword explainer (tests/tui/fakes.py)."""

from rich.text import Text
from textual.widgets import DataTable, Input, Select, Static

from lorasent_tui.core.browse import ExampleFilter, browse_order, load_browsed, prediction_sources
from lorasent_tui.core.calibration import write_calibration
from lorasent_tui.core.predictions import PREDICTIONS_FILE, prediction_set, write_predictions
from lorasent_tui.core.results import TEST_DIR, evaluation_dir, write_result
from lorasent_tui.core.store import RunStore
from lorasent_tui.core.threshold import write_threshold
from lorasent_tui.tui.error_browser import NO_PREDICTIONS, ROWS_SHOWN, ErrorBrowserScreen
from lorasent_tui.tui.widgets.explanation import TOWARDS_RGB, ExplanationView
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import SIZE, ended_run, open_run_detail, run_async, run_command, settle, wait_until
from tests.tui.fakes import FakeTrainer
from tests.tui.test_explain_view import background_of

# (text, true class, P(positive)): negative = 0, positive = 1.
EXAMPLES = [
    ("a good film, I love it", 1, 0.95),  # right, confident
    ("not bad at all, quite good really", 1, 0.10),  # wrong, confidently: the highest loss
    ("boring and bad", 0, 0.05),  # right
    ("great acting but a boring plot", 0, 0.70),  # wrong, less confident
    ("an average film", 1, 0.45),  # wrong, barely
    ("I love the music", 1, 0.80),  # right
]


def make_run_with_predictions(runs_dir, run_id="run-errors", with_predictions=True):
    run = ended_run(runs_dir, run_id, [{"epoch": 1, "accuracy": 0.5, "f1": 0.5}],
                    started_at="2025-01-01T10:00:00+00:00")
    if with_predictions:
        texts, labels, positive = zip(*EXAMPLES)
        probs = [[1 - p, p] for p in positive]
        write_predictions(run.path / PREDICTIONS_FILE,
                          prediction_set(range(len(texts)), labels, probs, ["negative", "positive"], texts))
    return run


def column(screen, key):
    return [str(c) for c in screen.query_one(DataTable).get_column(key)]


async def open_browser(pilot, app):
    await settle(pilot)
    await open_run_detail(pilot)  # the only run's
    await pilot.press("x")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, ErrorBrowserScreen)
    return screen


def test_the_palette_and_the_runs_tab_open_the_selected_runs_errors(app_factory, runs_dir):
    make_run_with_predictions(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await run_command(pilot, "browse errors")
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorBrowserScreen))
            await settle(pilot)
            assert app.screen.run_id == "run-errors" and app.screen.query_one(DataTable).row_count == len(EXAMPLES)
            await pilot.press("escape")
            await settle(pilot)
            assert app.query_one("#main-tabs").active == "runs"
            await pilot.press("x")  # the palette's key, on the Runs tab
            await settle(pilot)
            assert isinstance(app.screen, ErrorBrowserScreen) and app.screen.run_id == "run-errors"

    run_async(scenario())


def test_order_filters_and_threshold_headless(runs_dir):
    run = make_run_with_predictions(runs_dir)
    (source,) = prediction_sources(run.path)
    browsed = load_browsed(run.path, source)
    assert [int(i) for i in browse_order(browsed, ExampleFilter())] == [1, 3, 4, 5, 0, 2]
    assert [int(i) for i in browse_order(browsed, ExampleFilter(correctness="wrong"))] == [1, 3, 4]
    assert [int(i) for i in browse_order(browsed, ExampleFilter(true_class=0))] == [3, 2]
    assert [int(i) for i in browse_order(browsed, ExampleFilter(search="GOOD"))] == [1, 0]
    # The run's decision threshold decides the verdicts, as `predict` does: at 0.4, P 0.45 is positive.
    write_threshold(run.path, {"method": "f1", "threshold": 0.4})
    browsed = load_browsed(run.path, source)
    assert [int(i) for i in browse_order(browsed, ExampleFilter(correctness="wrong"))] == [1, 3]


def test_browser_sorts_filters_searches_and_opens(app_factory, runs_dir):
    make_run_with_predictions(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, app)
            assert column(screen, "text")[0] == "not bad at all, quite good really"  # highest loss first
            assert [float(x) for x in column(screen, "loss")] == sorted(
                (float(x) for x in column(screen, "loss")), reverse=True)
            assert "6 of 6 shown · 3 wrong" in str(screen.query_one("#browser-count").render())

            screen.query_one("#browser-correct", Select).value = "wrong"
            await settle(pilot)
            assert column(screen, "text") == ["not bad at all, quite good really",
                                              "great acting but a boring plot", "an average film"]
            screen.query_one("#browser-true", Select).value = "0"  # true negative
            await settle(pilot)
            assert column(screen, "text") == ["great acting but a boring plot"]
            assert column(screen, "predicted") == ["positive"]
            screen.query_one("#browser-true", Select).value = "*"
            screen.query_one("#browser-correct", Select).value = "all"
            screen.query_one("#browser-predicted", Select).value = "1"
            await settle(pilot)
            assert set(column(screen, "text")) == {"a good film, I love it", "great acting but a boring plot",
                                                   "I love the music"}

            screen.query_one("#browser-predicted", Select).value = "*"
            await pilot.press("slash", *"LOVE")
            await settle(pilot)
            assert column(screen, "text") == ["I love the music", "a good film, I love it"]
            assert "2 of 6 shown · 0 wrong" in str(screen.query_one("#browser-count").render())

            # Selecting a row shows its whole text.
            screen.query_one(Input).value = ""
            await settle(pilot)
            screen.query_one(DataTable).focus()
            await pilot.press("down")
            await settle(pilot)
            full = str(screen.query_one("#browser-full-text", Static).render())
            assert "great acting but a boring plot" in full and "true negative" in full

            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, ErrorBrowserScreen)

    run_async(scenario())


def test_long_text_shown_whole_and_explained_towards_the_prediction(app_factory, runs_dir):
    run = make_run_with_predictions(runs_dir, with_predictions=False)
    long_text = "great " + " ".join(f"word{k}" for k in range(200)) + " the very end"
    write_predictions(run.path / PREDICTIONS_FILE,
                      prediction_set([0], [0], [[0.1, 0.9]], ["negative", "positive"], [long_text]))
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, app)
            assert column(screen, "text")[0].endswith("…")  # the table shows the start
            assert str(screen.query_one("#browser-full-text", Static).render()).rstrip().endswith("the very end")
            await pilot.press("e")
            view = screen.query_one(ExplanationView)
            await wait_until(pilot, lambda: view.explanation is not None)
            assert view.explanation.target == "positive"  # the predicted class, not the true one
            content = view.query_one(Static).content
            text = content if isinstance(content, Text) else Text(str(content))
            body = text[text.plain.index(long_text[:20]):]
            assert background_of(body, "great") == TOWARDS_RGB
            assert app.services.predictors.loaded_runs == [run.run_id]

    run_async(scenario())


def test_old_run_without_predictions_shows_a_note(app_factory, runs_dir):
    make_run_with_predictions(runs_dir, with_predictions=False)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, app)
            assert str(screen.query_one("#browser-count").render()) == NO_PREDICTIONS
            assert screen.query_one(DataTable).row_count == 0
            await pilot.press("e")  # nothing to explain: a note, no crash
            await settle(pilot)
            assert "Select an example" in str(screen.query_one(ExplanationView).query_one(Static).render())

    run_async(scenario())


def test_large_set_lists_the_first_rows_and_says_so(app_factory, runs_dir):
    run = make_run_with_predictions(runs_dir, with_predictions=False)
    n = ROWS_SHOWN + 100
    positive = [(k % 100) / 100 for k in range(n)]
    write_predictions(run.path / PREDICTIONS_FILE,
                      prediction_set(range(n), [1] * n, [[1 - p, p] for p in positive],
                                     ["negative", "positive"], [f"review {k}" for k in range(n)]))
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, app)
            assert screen.query_one(DataTable).row_count == ROWS_SHOWN
            count = str(screen.query_one("#browser-count").render())
            assert count.startswith(f"{n:,} of {n:,} shown · {n // 2:,} wrong")
            assert f"first {ROWS_SHOWN:,}" in count
            # P(positive) 0 is the worst: every hundredth review, in the set's order.
            assert column(screen, "text")[:3] == ["review 0", "review 100", "review 200"]

    run_async(scenario())


def test_live_run_opens_the_browser_after_an_epoch(app_factory):
    trainer = FakeTrainer(wait_after_epoch=1, run_id="run-live")
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+b")  # before any epoch: a warning, no screen
            await settle(pilot)
            assert not isinstance(app.screen, ErrorBrowserScreen)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            run = RunStore(app.services.runs_dir).get("run-live")
            texts, labels, positive = zip(*EXAMPLES)
            write_predictions(run.path / PREDICTIONS_FILE,
                              prediction_set(range(len(texts)), labels, [[1 - p, p] for p in positive],
                                             ["negative", "positive"], texts))
            await pilot.press("ctrl+b")  # while the run still trains (settle would wait for it)
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorBrowserScreen)
                             and app.screen.query_one(DataTable).row_count > 0)
            screen = app.screen
            assert screen.run_id == "run-live" and app.train_panel.state == "running"
            assert column(screen, "text")[0] == "not bad at all, quite good really"
            await pilot.press("escape")
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: app.train_panel.state == "stopped")

    run_async(scenario())


def add_scored_sets(run):
    """A test split and an evaluation, each with one example of its own."""
    names = ["negative", "positive"]
    for folder, kind, text in ((run.path / TEST_DIR, "test", "a test review"),
                               (evaluation_dir(run.path, "tweets"), "evaluation", "a tweet, not good")):
        write_result(folder, {"accuracy": 0.0}, {}, prediction_set([0], [1], [[0.9, 0.1]], names, [text]),
                     {"kind": kind, "name": folder.name, "size": 1})


def test_sources_and_calibration_as_predict_reads_them(runs_dir):
    run = make_run_with_predictions(runs_dir)
    add_scored_sets(run)
    sources = prediction_sources(run.path)
    assert [s.key for s in sources] == ["validation", "test", "evaluation:tweets"]
    write_calibration(run.path, {"temperature": 2.0})
    validation = load_browsed(run.path, sources[0])
    # Validation keeps the model's own probabilities: the run's temperature is applied here...
    assert abs(validation.probs[0, 1] - 0.95 ** 0.5 / (0.95 ** 0.5 + 0.05 ** 0.5)) < 1e-6
    # ...an evaluation was scored with it already.
    assert load_browsed(run.path, sources[2]).probs[0, 1] == 0.1


def test_choosing_another_prediction_set(app_factory, runs_dir):
    add_scored_sets(make_run_with_predictions(runs_dir))
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot, app)
            assert screen.query_one(DataTable).row_count == len(EXAMPLES)
            screen.query_one("#browser-source", Select).value = "evaluation:tweets"
            await settle(pilot)
            assert column(screen, "text") == ["a tweet, not good"]
            assert "1 of 1 shown · 1 wrong" in str(screen.query_one("#browser-count").render())

    run_async(scenario())
