"""The app with more than two classes: the live table's columns, the confusion-matrix view,
one ROC curve and one probability bar per class, and runs with different classes compared."""

from dataclasses import replace

from textual.widgets import TabbedContent

from lorasent_tui.core.config import build_config
from lorasent_tui.core.records import METRIC_COLUMNS, MULTICLASS_METRIC_COLUMNS
from lorasent_tui.tui.preview_pane import preview_key
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.widgets.charts import RocChart
from lorasent_tui.tui.widgets.confusion import DIAGONAL_STYLE, NOT_RECORDED, ConfusionView, matrix_table
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import (
    SIZE, make_run, make_runs, make_three_class_run, open_run_detail, run_async, settle,
)
from tests.tui.fakes import THREE_CLASSES, FakeDataLoader, FakePredictorFactory, FakeTrainer


def headers(table: MetricsTable) -> list[str]:
    return [str(column.label) for column in table.columns.values()]


def shown(view: ConfusionView) -> str:
    return str(view.content)


def test_a_three_class_run_shows_macro_columns_its_matrix_and_a_curve_per_class(app_factory):
    app = app_factory(trainer=FakeTrainer(classes=THREE_CLASSES))

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            table = app.query_one("#live-metrics", MetricsTable)
            assert headers(table) == ["Epoch"] + [c.header for c in MULTICLASS_METRIC_COLUMNS]
            assert [str(c) for c in table.get_column("f1_macro")] == ["0.6900", "0.8400", "0.7900"]
            # The best epoch's classes, one ROC curve per class.
            view = app.query_one("#live-confusion", ConfusionView)
            assert view.row["epoch"] == 2 and view.heading.startswith("Epoch 2 ★")
            assert view.row["confusion_matrix"][0] == [17, 3, 0]
            labels = [s.label for s in app.query_one(RocChart).series]
            assert labels == [f"epoch 2 {name} AUC {0.87 - 0.01 * k:.2f}" for k, name in enumerate(THREE_CLASSES)]
            # Picking another epoch on Live shows its matrix on the Classes view.
            table.focus()
            await pilot.pause()
            table.move_cursor(row=2)
            await pilot.pause()
            assert view.row["epoch"] == 3 and "highlighted" in view.heading
            app.query_one("#train-views", TabbedContent).active = "classes-pane"
            await pilot.pause()
            assert view.region.height >= 8  # the matrix and the per-class table are on screen

    run_async(scenario())


def test_a_binary_run_keeps_its_columns_and_old_rows_say_the_matrix_was_not_recorded(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            table = app.query_one("#live-metrics", MetricsTable)
            assert headers(table) == ["Epoch"] + [c.header for c in METRIC_COLUMNS]
            assert NOT_RECORDED in shown(app.query_one("#live-confusion", ConfusionView))

    run_async(scenario())


def test_the_matrix_marks_the_diagonal_and_gives_row_percentages():
    table = matrix_table(list(THREE_CLASSES), [[6, 2, 0], [1, 3, 0], [0, 0, 5]])
    cells = [[cell for cell in column.cells] for column in table.columns[1:]]  # by predicted class
    assert str(cells[0][0]) == "6  75%" and str(cells[1][0]) == "2  25%"
    assert [cells[k][k].style for k in range(3)] == [DIAGONAL_STYLE] * 3
    assert cells[1][0].style != DIAGONAL_STYLE


def test_run_detail_shows_the_highlighted_epochs_matrix_and_old_runs_say_not_recorded(app_factory, runs_dir):
    make_runs(runs_dir)  # binary runs written before per-class metrics
    make_three_class_run(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await open_run_detail(pilot)  # the newest run: three classes
            detail = app.screen
            assert isinstance(detail, RunDetailScreen)
            assert headers(detail.query_one(MetricsTable)) == ["Epoch"] + [c.header for c in MULTICLASS_METRIC_COLUMNS]
            assert len(detail.query_one(RocChart).series) == 3
            view = detail.query_one(ConfusionView)
            assert not view.display or not detail.has_class("-classes")
            await pilot.press("m")
            await pilot.pause()
            assert detail.has_class("-classes") and view.row["epoch"] == 2
            await pilot.press("up")
            await pilot.pause()
            assert view.row["epoch"] == 1 and view.region.height > 0
            await pilot.press("escape", "down", "enter")  # an old binary run
            await settle(pilot)
            await pilot.press("m")
            await pilot.pause()
            assert NOT_RECORDED in shown(app.screen.query_one(ConfusionView))

    run_async(scenario())


def test_comparing_runs_with_different_classes_says_so(app_factory, runs_dir):
    make_runs(runs_dir)
    make_three_class_run(runs_dir, accuracies=(0.8,))
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("space", "down", "space", "c")  # run-3 (three classes) and run-1
            await settle(pilot)
            detail = app.screen
            assert isinstance(detail, RunDetailScreen) and detail.compare
            title = str(detail.query_one("#detail-title").render())
            assert "different classes" in title and "negative, neutral, positive" in title
            assert detail.query_one(RocChart).series == []  # no curves of unlike classes overlaid
            assert headers(detail.query_one(MetricsTable)) == ["Run", "Epoch", "Train loss", "Val loss", "Acc", "AUC"]
            metrics = [str(c) for c in detail.query_one("#compare-table").get_column_at(0)]
            assert metrics[:3] == ["Training loss", "Validation loss", "Accuracy"]
            assert metrics[3].startswith("ROC AUC") and metrics[4].startswith("Settings")

    run_async(scenario())


def test_comparing_runs_with_the_same_classes_overlays_them(app_factory, runs_dir):
    make_runs(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("space", "down", "space", "c")
            await settle(pilot)
            detail = app.screen
            assert "different classes" not in str(detail.query_one("#detail-title").render())
            assert len(detail.query_one(RocChart).series) == 2
            assert headers(detail.query_one(MetricsTable))[2:] == [c.header for c in METRIC_COLUMNS]

    run_async(scenario())


def test_prediction_panel_shows_a_bar_per_class(app_factory, runs_dir):
    app = app_factory(predictor_factory=FakePredictorFactory(classes=THREE_CLASSES))
    make_run(runs_dir)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("p")
            await settle(pilot)
            await pilot.press(*"not good", "enter")
            await settle(pilot)
            base, trained = app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)
            assert base.label == "neutral" and trained.label == "negative"
            for bar in (base, trained):
                lines = str(bar.render()).splitlines()
                assert [line.split()[0] for line in lines] == list(THREE_CLASSES)
                assert bar.region.height == 3
            # The examples table shows each predicted class's own probability.
            cells = [str(c) for c in app.query_one("#examples").get_column("base")]
            assert all(c.startswith("neutral  0.55") for c in cells)

    run_async(scenario())


class CountingLoader(FakeDataLoader):
    def __init__(self):
        self.configs = []

    def load_splits(self, config):
        self.configs.append(config)
        return super().load_splits(config)


def test_changing_labels_or_balance_reloads_the_data_preview(app_factory):
    loader = CountingLoader()
    app = app_factory(data_loader=loader)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            panel = app.train_panel
            panel.load_preview()
            await settle(pilot)
            panel.load_preview()  # the same settings: not loaded again
            await settle(pilot)
            assert len(loader.configs) == 1
            config = panel.form.validate()
            for changed in (replace(config, balance=False), replace(config, balance=False, labels=["neg", "pos"])):
                panel.form.fill(changed)
                await settle(pilot)
                panel.load_preview()
                await settle(pilot)
            assert [(c.balance, c.labels) for c in loader.configs] == [
                (True, None), (False, None), (False, ["neg", "pos"])]

    run_async(scenario())


def test_the_preview_key_has_every_data_setting():
    config = build_config({})
    assert preview_key(replace(config, labels=["a", "b"])) != preview_key(config)
    assert preview_key(replace(config, balance=False)) != preview_key(config)
    assert preview_key(replace(config, epochs=9)) == preview_key(config)


def test_binary_sentiment_keeps_one_bar_and_other_two_class_runs_get_a_bar_each():
    bar = ProbBar()
    bar.show("negative", 0.3, {"negative": 0.7, "positive": 0.3})
    assert str(bar.render()).count("\n") == 0 and "P(positive) 0.30" in str(bar.render())
    bar.show("bug", 0.8, {"billing": 0.2, "bug": 0.8})  # P(positive) would mean nothing
    lines = str(bar.render()).splitlines()
    assert [line.split()[0] for line in lines] == ["billing", "bug"] and lines[1].endswith("P 0.80")
