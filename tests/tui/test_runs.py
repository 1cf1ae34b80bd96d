from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.widgets.charts import LossChart, RocChart
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import SIZE, run_async, settle, status_text
from tests.tui.fakes import ROC, epoch_metrics


def make_runs(runs_dir):
    store = RunStore(runs_dir)
    for index, accuracies in enumerate(([0.7, 0.8], [0.75, 0.9, 0.85])):
        run = store.create(build_config({"epochs": len(accuracies)}), run_id=f"run-{index}",
                           started_at=f"2025-01-0{index + 1}T10:00:00+00:00")
        rows = [epoch_metrics(e, a) for e, a in enumerate(accuracies, 1)]
        run.write_metrics(rows)
        run.write_roc({str(r["epoch"]): {**ROC, "auc": r["roc_auc"]} for r in rows})
        best = max(rows, key=lambda r: r["accuracy"])["epoch"]
        run.update_status(state="completed", best_epoch=best, epochs_done=len(rows))
    damaged = runs_dir / "run-damaged"
    damaged.mkdir()
    (damaged / "status.json").write_text("{not json")
    (damaged / "config.json").write_text("{}")


def column(app, key):
    return [str(c) for c in app.query_one("#runs-table").get_column(key)]


def test_runs_listed_opened_compared_and_deleted(app_factory, tmp_path):
    runs_dir = tmp_path / "runs"
    make_runs(runs_dir)
    app = app_factory(runs_dir=runs_dir)

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
            assert compare.query_one("#compare-table").row_count == 9  # one row per metric
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


def test_refresh_picks_up_new_runs(app_factory, tmp_path):
    runs_dir = tmp_path / "runs"
    app = app_factory(runs_dir=runs_dir)

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


def test_app_keys_are_inert_in_the_detail_view(app_factory, tmp_path):
    runs_dir = tmp_path / "runs"
    make_runs(runs_dir)
    app = app_factory(runs_dir=runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, RunDetailScreen)
            await pilot.press("f2", "ctrl+s")  # modal: app bindings do not reach through
            await settle(pilot)
            assert isinstance(app.screen, RunDetailScreen) and not app.services.trainer.calls
            await pilot.press("escape", "f2")
            await pilot.pause()
            assert app.query_one("#main-tabs").active == "predict" and app.focused.id == "review"

    run_async(scenario())
