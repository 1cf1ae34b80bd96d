"""The Predict tab's "Score a file" (ctrl+f): a whole data file scored by the loaded run."""

import threading

import pandas as pd

from lorasent_tui.tui.file_scoring import FileScoring
from lorasent_tui.tui.settings_file import PathScreen
from tests.tui.conftest import SIZE, make_run, run_async, settle, status_text, wait_until

TEXTS = ["great film", "not good at all", "", "boring", "a film"]


def write_reviews(folder):
    source = folder / "reviews.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(source, index=False)
    return source


async def start_scoring(app, pilot, runs_dir, source):
    """Load a run on the Predict tab, press ctrl+f and answer ``source``: (run, the line)."""
    run = make_run(runs_dir)
    await settle(pilot)
    app.predict_panel.load_run(run.run_id)
    await pilot.press("f2")
    await settle(pilot)
    await pilot.press("ctrl+f")
    await settle(pilot)
    assert isinstance(app.screen, PathScreen)
    await pilot.press("ctrl+u", *str(source), "enter")
    return run, app.query_one(FileScoring)


def held_app(app_factory):
    """An app whose predictors wait for the returned event before each text."""
    app = app_factory()
    hold = threading.Event()
    app.services.predictors.score_hold = hold
    return app, hold


def test_without_a_run_it_says_how_to_load_one(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            await settle(pilot)
            await pilot.press("ctrl+f")
            await settle(pilot)
            assert not isinstance(app.screen, PathScreen)
            assert "No fine-tuned run is loaded to score a file with" in status_text(app)

    run_async(scenario())


def test_the_predictions_go_beside_the_file_one_row_per_text(app_factory, runs_dir, tmp_path):
    app = app_factory()
    source = write_reviews(tmp_path)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            run, line = await start_scoring(app, pilot, runs_dir, source)
            await wait_until(pilot, lambda: not line.running)
            await settle(pilot)
            out = pd.read_csv(tmp_path / "reviews.predictions.csv")
            assert out["row"].tolist() == list(range(len(TEXTS)))
            assert out["label"].tolist()[:2] == ["positive", "negative"] and pd.isna(out["label"][2])
            assert f"Scored 4 texts of {source}" in str(line.render())
            assert "1 blank row without a verdict" in status_text(app)
            assert app.services.predictors.loaded_runs[-1] == run.run_id

    run_async(scenario())


def test_stop_ends_the_scoring_and_writes_nothing(app_factory, runs_dir, tmp_path):
    app, hold = held_app(app_factory)
    source = write_reviews(tmp_path)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            _, line = await start_scoring(app, pilot, runs_dir, source)
            await wait_until(pilot, lambda: line.running)
            await pilot.press("ctrl+t")
            hold.set()
            await wait_until(pilot, lambda: not line.running)
            await settle(pilot)
            assert "stopped; nothing was written" in status_text(app)
            assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["reviews.csv"]

    run_async(scenario())


def test_a_bad_file_is_one_status_line_and_the_app_goes_on(app_factory, runs_dir, tmp_path):
    app = app_factory()
    bad = tmp_path / "reviews.xlsx"
    bad.write_text("not a table")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            _, line = await start_scoring(app, pilot, runs_dir, bad)
            await wait_until(pilot, lambda: not line.running)
            await settle(pilot)
            assert "unsupported file type" in status_text(app)
            await pilot.press("ctrl+f")  # a second file can be asked for
            await settle(pilot)
            assert isinstance(app.screen, PathScreen)

    run_async(scenario())


def test_quitting_while_a_file_is_scored_stops_the_scoring(app_factory, runs_dir, tmp_path):
    app, hold = held_app(app_factory)
    source = write_reviews(tmp_path)
    events = []

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            _, line = await start_scoring(app, pilot, runs_dir, source)
            await wait_until(pilot, lambda: line.running)
            events.append(line.stop_event)
            await pilot.press("ctrl+q")

    try:
        run_async(scenario())
    finally:
        hold.set()
    assert events[0].is_set()
    assert not (tmp_path / "reviews.predictions.csv").exists()
