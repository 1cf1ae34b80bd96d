from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.runs_panel import MAX_CELL
from lorasent_tui.tui.widgets.charts import LossChart, RocChart
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import SIZE, ended_run, make_runs, open_run_detail, run_async, settle, status_text, wait_until


def column(app, key):
    return [str(c) for c in app.query_one("#runs-table").get_column(key)]


def test_runs_listed_opened_compared_and_deleted(app_factory, runs_dir):
    make_runs(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            assert column(app, "run") == ["run-1", "run-0", "run-damaged"]  # newest first
            assert column(app, "state") == ["completed", "completed", "damaged"]
            assert column(app, "acc")[0] == "0.9000"
            assert "status.json is damaged" in column(app, "problem")[2]

            # Open the selected (newest) run.
            await pilot.press("enter")
            await settle(pilot)
            detail = app.screen
            assert isinstance(detail, RunDetailScreen) and [r.run_id for r in detail.runs] == ["run-1"]
            table = detail.query_one(MetricsTable)
            assert [str(c) for c in table.get_column("epoch")] == ["1", "2 ★", "3"]
            assert detail.query_one(LossChart).has_data
            assert "epoch 2" in detail.query_one(RocChart).series[0].label
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, RunDetailScreen)

            # A damaged run cannot be opened, but nothing breaks.
            await pilot.press("down", "down", "enter")
            await settle(pilot)
            assert not isinstance(app.screen, RunDetailScreen)
            assert "damaged" in status_text(app)

            # Mark two and compare.
            await pilot.press("up", "up", "space", "down", "space")
            assert column(app, "mark")[:2] == ["✓", "✓"]
            await pilot.press("c")
            await settle(pilot)
            compare = app.screen
            assert isinstance(compare, RunDetailScreen) and compare.compare
            assert {r.run_id for r in compare.runs} == {"run-0", "run-1"}
            # One row per metric, then the settings that differ: a heading and epochs.
            assert compare.query_one("#compare-table").row_count == 9 + 2
            assert compare.query_one(MetricsTable).row_count == 5  # 2 + 3 epochs side by side
            loss_labels = [s.label for s in compare.query_one(LossChart).series]
            assert loss_labels == ["A train", "A validation", "B train", "B validation"]
            assert len(compare.query_one(RocChart).series) == 2
            await pilot.press("escape")
            await pilot.pause()

            # Delete the selected run after confirming; cancelling first keeps it.
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            await settle(pilot)
            assert (runs_dir / "run-0").exists()
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("y")
            await settle(pilot)
            assert not (runs_dir / "run-0").exists()
            assert column(app, "run") == ["run-1", "run-damaged"]

    run_async(scenario())


def test_refresh_picks_up_new_runs(app_factory, runs_dir):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            assert app.query_one("#runs-table").row_count == 0
            make_runs(runs_dir)
            await pilot.press("r")
            await settle(pilot)
            assert app.query_one("#runs-table").row_count == 3

    run_async(scenario())


def test_app_keys_are_inert_in_the_detail_view(app_factory, runs_dir):
    make_runs(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await open_run_detail(pilot)
            assert isinstance(app.screen, RunDetailScreen)
            await pilot.press("f2", "ctrl+s")  # modal: app bindings do not reach through
            await settle(pilot)
            assert isinstance(app.screen, RunDetailScreen) and not app.services.trainer.calls
            await pilot.press("escape", "f2")
            await pilot.pause()
            assert app.query_one("#main-tabs").active == "predict" and app.focused.id == "review"

    run_async(scenario())


def test_run_settings_shown_compared_and_used(app_factory, runs_dir):
    make_runs(runs_dir)  # run-0: 2 epochs, run-1: 3 epochs, same other settings
    run = RunStore(runs_dir).get("run-0")
    run.write_config(build_config({"epochs": 2, "lora_r": 4, "learning_rate": 0.002}))
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            # Compare: the settings that differ sit below the metrics.
            await pilot.press("space", "down", "space", "c")
            await settle(pilot)
            compare = app.screen.query_one("#compare-table")
            rows = [[str(c) for c in compare.get_row_at(i)] for i in range(compare.row_count)]
            start = [r[0] for r in rows].index("Settings that differ")
            assert rows[start + 1:] == [["  epochs", "3", "2"], ["  learning_rate", "0.001", "0.002"],
                                        ["  lora_r", "8", "4"]]
            await pilot.press("escape")
            await pilot.pause()

            # The detail of run-0 lists every setting (v: instead of the charts) ...
            await pilot.press("enter")
            await settle(pilot)
            detail = app.screen
            assert isinstance(detail, RunDetailScreen) and detail.runs[0].run_id == "run-0"
            settings = detail.query_one("#detail-settings")
            assert not settings.display
            await pilot.press("v")
            await pilot.pause()
            assert settings.display and not detail.query_one("#detail-charts").display
            listed = {str(r[0]): str(r[1]) for r in (settings.get_row_at(i) for i in range(settings.row_count))}
            assert listed["lora_r"] == "4" and listed["learning_rate"] == "0.002" and "seed" in listed

            # ... and s puts them in the Train form.
            await pilot.press("s")
            await settle(pilot)
            assert not isinstance(app.screen, RunDetailScreen)
            assert app.query_one("#main-tabs").active == "train"
            form = app.train_panel.form.values()
            assert (form["lora_r"], form["epochs"], form["learning_rate"]) == ("4", "2", "0.002")
            assert "Loaded the settings of run run-0" in status_text(app)

            # s on the Runs tab does the same for the selected run.
            await pilot.press("f3")
            await settle(pilot)
            table = app.query_one("#runs-table")
            table.move_cursor(row=table.get_row_index("run-1"))
            await pilot.press("s")
            await settle(pilot)
            assert app.train_panel.form.values()["lora_r"] == "8"

    run_async(scenario())


def test_long_model_names_end_in_an_ellipsis(app_factory, runs_dir):
    model = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
    config = build_config({"model": model})
    run = ended_run(runs_dir, RunStore(runs_dir).new_run_id(config), [], config, state="stopped",
                    started_at="2025-01-01T10:00:00+00:00")
    assert len(run.run_id) > MAX_CELL["run"]
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            (cell,) = column(app, "model")
            assert cell == "paraphrase-multilingu…" and len(cell) == MAX_CELL["model"]
            table = app.query_one("#runs-table")
            widths = [col.get_render_width(table) for col in table.columns.values()]
            keys = [str(key.value) for key in table.columns]
            # Up to the problem, every column shows at 120 columns, even with a long run id.
            assert sum(widths[:keys.index("problem") + 1]) <= table.scrollable_content_region.width
            assert column(app, "problem") == ["stopped by user during epoch 1"]
            details = str(app.query_one("#run-problem").render())
            assert model in details and "stopped by user during epoch 1" in details

    run_async(scenario())


def test_detail_shows_test_and_evaluations_apart(app_factory, runs_dir):
    from lorasent_tui.core.predictions import prediction_set
    from lorasent_tui.core.results import TEST_DIR, evaluation_dir, write_result

    make_runs(runs_dir)
    run = RunStore(runs_dir).get("run-1")
    scored = prediction_set([0, 1], [0, 1], [[0.9, 0.1], [0.4, 0.6]], ["negative", "positive"], ["a", "b"])
    metrics = {"accuracy": 0.88, "f1": 0.87, "roc_auc": 0.93}
    write_result(run.path / TEST_DIR, metrics, {}, scored,
                 {"name": "test", "dataset": "imdb", "split": "test", "size": 1000, "date": "2025-01-02T10:00:00+00:00"})
    write_result(evaluation_dir(run.path, "rotten"), {**metrics, "accuracy": 0.75}, {}, scored,
                 {"name": "rotten", "dataset": "rotten_tomatoes", "split": None, "size": 500,
                  "date": "2025-01-03T11:30:00+00:00"})
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await open_run_detail(pilot)
            detail = app.screen
            assert isinstance(detail, RunDetailScreen)
            title = str(detail.query_one("#detail-title").render())
            assert "Test (n=1,000): accuracy 0.8800" in title
            assert "Evaluation rotten: rotten_tomatoes, n=500, accuracy 0.7500, 2025-01-03 11:30" in title
            table = detail.query_one(MetricsTable)
            assert [str(c) for c in table.get_column("epoch")] == ["1", "2 ★", "3"]  # no test row

    run_async(scenario())


def test_the_run_views_footer_shows_every_key_within_80_columns(app_factory, runs_dir):
    from textual.widgets._footer import FooterKey

    from lorasent_tui.tui.widgets.footer import StableFooter

    make_runs(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await open_run_detail(pilot)
            footer = app.screen.query_one(StableFooter)
            every = {binding.description for binding in RunDetailScreen.BINDINGS if binding.show}
            await wait_until(pilot, lambda: {key.description for key in footer.query(FooterKey)} == every)
            await pilot.pause()
            assert footer.virtual_size.width <= 80
            assert all(key.region.right <= footer.region.right for key in footer.query(FooterKey))

    run_async(scenario())
