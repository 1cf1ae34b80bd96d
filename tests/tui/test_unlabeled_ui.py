"""The app's part of self-training: the pool in the data preview, pseudo-labels per epoch."""

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.widgets.data_charts import LengthHistogram
from tests.tui.conftest import SIZE, run_async, settle

UNLABELED = build_config({"epochs": 3, "train_size": 100, "eval_size": 50, "unlabeled": "imdb-unlabeled"})


def test_each_epochs_pseudo_labels_show_under_the_table(app_factory):
    app = app_factory(config=UNLABELED)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            line = app.query_one("#pseudo-labels")
            assert line.display
            text = str(line.render())
            assert "epoch 1: 0 pseudo-labels" in text
            assert "epoch 3: 60 pseudo-labels (30 negative / 30 positive)" in text

    run_async(scenario())


def test_a_labels_only_run_has_no_pseudo_label_line(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert not app.query_one("#pseudo-labels").display

    run_async(scenario())


def test_the_preview_shows_the_unlabeled_pools_size_and_lengths(app_factory):
    app = app_factory(config=UNLABELED)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#preview")
            await settle(pilot)
            info = str(app.query_one("#preview-info").render())
            assert "Unlabeled: 6 texts from imdb-unlabeled, median 6 words (10–90%: 2–6)" in info
            assert app.query_one(LengthHistogram).unlabeled == [6, 2] * 3

    run_async(scenario())


def test_a_runs_detail_shows_its_pseudo_labels(app_factory, runs_dir):
    from lorasent_tui.tui.run_detail import RunDetailScreen
    from tests.tui.conftest import ended_run, open_run_detail
    from tests.tui.fakes import epoch_metrics

    rows = [epoch_metrics(1, 0.8), {**epoch_metrics(2, 0.85), "pseudo_labels": 4,
                                    "pseudo_counts": {"negative": 2, "positive": 2}}]
    ended_run(runs_dir, "self-trained", rows, UNLABELED)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await open_run_detail(pilot)
            assert isinstance(app.screen, RunDetailScreen)
            line = app.screen.query_one("#detail-pseudo-labels")
            assert line.display
            assert "epoch 2: 4 pseudo-labels (2 negative / 2 positive)" in str(line.render())

    run_async(scenario())


def test_a_teacher_without_unlabeled_texts_is_flagged_and_one_with_them_starts(app_factory):
    from tests.tui.test_form import error_of, type_into

    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await type_into(pilot, "teacher", "latest")
            assert "needs unlabeled texts" in error_of(app, "teacher")
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.services.trainer.calls == []
            await type_into(pilot, "unlabeled", "imdb-unlabeled")
            assert error_of(app, "teacher") == ""
            await pilot.click("#start")
            await settle(pilot)
            (config,) = app.services.trainer.calls
            assert config.teacher == "latest" and config.unlabeled == "imdb-unlabeled"

    run_async(scenario())
