import pytest
from rich.text import Text
from textual.widgets import ProgressBar, TabbedContent

from lorasent_tui.core.events import StatusUpdate, StepProgress
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.messages import TrainProgress
from lorasent_tui.tui.services import MessageBridge
from lorasent_tui.tui.progress_text import progress_line
from lorasent_tui.tui.widgets.charts import LossChart, RocChart, ScoreChart
from lorasent_tui.tui.widgets.data_charts import BalanceChart
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until
from tests.tui.fakes import EVAL_REVIEWS, FakeTrainer


def test_training_fills_table_charts_and_progress(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            panel = app.train_panel
            assert panel.state == "completed"
            table = app.query_one("#live-metrics", MetricsTable)
            assert table.row_count == 3
            assert [str(c) for c in table.get_column_at(0)] == ["1", "2 ★", "3"]
            assert app.query_one(LossChart).has_data
            labels = [s.label for s in app.query_one(LossChart).series]
            assert labels == ["step loss", "train", "validation"]
            assert app.query_one(ScoreChart).has_data
            assert "epoch 2" in app.query_one(RocChart).series[0].label  # the best epoch
            # Figures are drawn off the UI thread, then shown.
            chart = app.query_one(RocChart)
            await wait_until(pilot, lambda: "AUC" in str(chart.render()))
            bar = app.query_one("#train-progress", ProgressBar)
            assert bar.percentage == 1
            assert "completed" in status_text(app)
            # The finished run was handed to the Predict tab and listed on the Runs tab.
            (run_id,) = app.services.predictors.loaded_runs
            assert app.predict_panel.run_id == run_id
            assert run_id in app.runs_panel.summaries

    run_async(scenario())


def test_stop_midway_marks_run_stopped(app_factory):
    trainer = FakeTrainer(wait_after_epoch=1)
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#start")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            assert app.train_panel.state == "running"
            await pilot.click("#stop")
            await settle(pilot)
            assert app.train_panel.state == "stopped"
            assert str(app.query_one("#train-state").render()) == "stopped"
            (summary,) = RunStore(app.services.runs_dir).list()
            assert summary.state == "stopped" and summary.epochs_done == 1

    run_async(scenario())


def test_trainer_failure_is_shown_and_app_stays_usable(app_factory):
    message = "CUDA out of memory: lower --batch-size or --max-length (or use --device cpu) and try again"
    app = app_factory(trainer=FakeTrainer(fail=message))

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.train_panel.state == "failed"
            assert message in status_text(app)
            await pilot.press("f3")
            assert app.query_one("#main-tabs").active == "runs"
            await settle(pilot)
            assert [s.state for s in app.runs_panel.summaries.values()] == ["failed"]
            await pilot.press("f1", "ctrl+s")  # can start again
            await settle(pilot)
            assert len(app.services.trainer.calls) == 2

    run_async(scenario())


def test_trainer_exception_becomes_one_line_message(app_factory):
    def broken_trainer(config, **kwargs):
        raise RuntimeError("boom\nwith a traceback-ish second line")

    app = app_factory(trainer=broken_trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.train_panel.state == "failed"
            assert "RuntimeError: boom" in status_text(app)
            assert "second line" not in status_text(app)

    run_async(scenario())


def test_closing_during_training_stops_the_worker(app_factory):
    trainer = FakeTrainer(wait_after_epoch=1)
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            session = app.training_session
            await pilot.press("ctrl+q")
        return session

    session = run_async(scenario())
    assert session.stop_event.is_set() and session.done.is_set()
    (summary,) = RunStore(app.services.runs_dir).list()
    assert summary.state == "stopped"


def test_start_flag_starts_training_on_mount(app_factory):
    app = app_factory(start=True)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.services.trainer.calls)
            await settle(pilot)
            assert app.train_panel.state == "completed"

    run_async(scenario())


def test_data_preview_shows_balance_and_samples(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#preview")
            await settle(pilot)
            assert app.query_one(BalanceChart).counts == {
                "train": {"negative": 6, "positive": 6}, "eval": {"negative": 2, "positive": 2}}
            samples = app.query_one("#preview-samples")
            assert samples.row_count >= 4
            assert {str(c) for c in samples.get_column_at(1)} == {"negative", "positive"}

    run_async(scenario())


class Recorder:
    def __init__(self):
        self.messages = []

    def post_message(self, message):
        self.messages.append(message)


def test_progress_is_throttled_but_keeps_last_step_and_losses():
    target, now = Recorder(), [0.0]
    bridge = MessageBridge(target, min_interval=0.1, clock=lambda: now[0])
    callbacks = bridge.callbacks()
    for step in range(1, 1001):
        now[0] = step * 0.0005  # 1000 steps in half a second
        loss = 1.0 / (1 + step // 10)  # a new logging-window loss every 10 steps
        callbacks.on_progress(StepProgress(step, 1000, 1, 1, now[0], 0.0, loss))
    progress = [m for m in target.messages if isinstance(m, TrainProgress)]
    assert len(progress) <= 7  # ~10 per second, not 1000
    assert progress[-1].progress.step == 1000
    points = [p for m in progress for p in m.loss_points]
    assert len(points) == 101 and points[-1] == (1000, 1.0 / 101)


def test_held_progress_is_flushed_before_an_epoch_result():
    target, now = Recorder(), [0.0]
    bridge = MessageBridge(target, min_interval=10.0, clock=lambda: now[0])
    bridge.on_progress(StepProgress(1, 10, 1, 2, 0.0, None, 0.5))
    bridge.on_progress(StepProgress(5, 10, 1, 2, 0.0, None, 0.5))  # held back
    bridge.on_status(StatusUpdate("evaluating"))
    steps = [m.progress.step for m in target.messages if isinstance(m, TrainProgress)]
    assert steps == [1, 5]


def progress_detail(app) -> str:
    return str(app.query_one("#progress-detail").render())


def test_progress_line_says_where_the_run_is():
    training = StepProgress(12, 45, 1, 3, elapsed=30.0, eta=95.0, loss=0.5, device="cpu", fraction=0.2)
    assert progress_line(training) == "epoch 1/3 · step 12/45 · elapsed 0:30 · ETA 1:35 · device cpu"
    evaluating = StepProgress(15, 45, 1, 3, elapsed=40.0, eta=80.0, loss=0.5, phase="eval",
                              fraction=0.3, eval_done=256, eval_total=500)
    assert progress_line(evaluating).startswith("evaluating epoch 1/3: 256/500 reviews · elapsed 0:40 · ETA 1:20")
    assert "ETA" not in progress_line(evaluating, stopping=True)
    testing = StepProgress(45, 45, 3, 3, elapsed=90.0, eta=None, loss=None, phase="test",
                           fraction=1.0, eval_done=400, eval_total=1000)
    assert progress_line(testing).startswith("testing the best epoch: 400/1000 reviews · elapsed 1:30")
    labelling = StepProgress(15, 45, 1, 3, elapsed=50.0, eta=70.0, loss=None, phase="relabel",
                             fraction=0.4, eval_done=1200, eval_total=4000)
    assert progress_line(labelling).startswith("pseudo-labelling after epoch 1/3: 1200/4000 reviews · elapsed 0:50")


def test_progress_moves_through_evaluation_and_no_eta_survives_stop(app_factory):
    app = app_factory(trainer=FakeTrainer(wait_after_epoch=1))

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.pause()
            # The first epoch's evaluation was the last progress: the bar counts it (a third
            # of the run), and the line says what is being scored, with the whole run's ETA.
            bar = app.query_one("#train-progress", ProgressBar)
            assert abs(bar.percentage - 1 / 3) < 1e-6
            line = progress_detail(app)
            assert f"evaluating epoch 1/3: {EVAL_REVIEWS}/{EVAL_REVIEWS} reviews" in line
            assert "ETA 0:20" in line
            await pilot.press("ctrl+t")
            assert "ETA" not in progress_detail(app)
            await settle(pilot)
            assert app.train_panel.state == "stopped"
            line = progress_detail(app)
            assert "evaluating" not in line and "ETA" not in line
            assert line.startswith("Stopped after 1 epoch in 0:10")
            assert "stopped" in status_text(app) and "Stopping" not in status_text(app)

    run_async(scenario())


def test_completed_run_rewrites_the_progress_line(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.train_panel.state == "completed"
            line = progress_detail(app)
            assert line == "Completed: 3 epochs in 0:30."  # not the last "evaluating epoch 3: …"

    run_async(scenario())


def test_start_shows_the_live_view(app_factory):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#preview")
            await settle(pilot)
            views = app.query_one("#train-views", TabbedContent)
            assert views.active == "data-pane"
            await pilot.press("ctrl+s")
            assert views.active == "live-pane"
            await settle(pilot)
            assert views.active == "live-pane"

    run_async(scenario())


def test_start_while_training_says_why(app_factory):
    app = app_factory(trainer=FakeTrainer(wait_after_epoch=1))

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "a run is training" in status_text(app) and "Stop it first" in status_text(app)
            await pilot.click("#start")
            await pilot.pause()
            assert "a run is training" in status_text(app)
            assert len(app.services.trainer.calls) == 1
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())


@pytest.mark.parametrize("width", [100, 114, 120])
def test_every_metric_column_is_visible_while_training(app_factory, width):
    """From 87 columns up (120 included) the live table shows all its columns, none cut off at
    the right: the run's settings column gives way where both would not fit (114)."""
    app = app_factory(trainer=FakeTrainer(wait_after_epoch=1))

    async def scenario():
        async with app.run_test(size=(width, 40)) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.pause()
            table = app.query_one("#live-metrics", MetricsTable)
            assert len(table.columns) == 10
            assert table.virtual_size.width <= table.scrollable_content_region.width
            assert table.region.right <= app.screen.region.right
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())


def figure_text(chart, width=60, height=16) -> str:
    from textual_plotext.plot import Plot

    plt = Plot()
    plt.plotsize(width, height)
    chart.draw(plt)
    return Text.from_ansi(plt.build()).plain


def test_step_loss_is_a_thin_line_and_only_epoch_points_get_markers():
    chart = LossChart()
    rows = [{"epoch": 1, "train_loss": 0.7, "eval_loss": 0.6}, {"epoch": 2, "train_loss": 0.4, "eval_loss": 0.5}]
    chart.series = chart.show_losses(rows, [(0.25, 0.9), (0.5, 0.8), (0.75, 0.7), (1.0, 0.65)])
    text = figure_text(chart)
    assert text.count("•") <= 4  # the four epoch points; the step loss draws no dotted band
    caption = " ".join(line.plain for line in chart.caption(60))
    assert "step loss" in caption and "validation" in caption  # the legend is above, not on the plot
    assert "step loss" not in text


def test_roc_axis_names_are_in_the_caption_not_under_the_axis():
    chart = RocChart()
    chart.series = RocChart.roc_series({"fpr": [0.0, 0.2, 1.0], "tpr": [0.0, 0.8, 1.0], "auc": 0.8}, "epoch 1")
    text = figure_text(chart)
    assert "FPR" not in text and "TPR" not in text
    assert "TPR against FPR" in chart.caption(60)[0].plain


def test_charts_are_whole_at_80x24_while_training(app_factory):
    app = app_factory(trainer=FakeTrainer(wait_after_epoch=1))

    async def scenario():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.pause()
            pane = app.query_one("#live-pane")
            shown = [chart for chart in (app.query_one(LossChart), app.query_one(RocChart))]
            for chart in shown:  # visible without scrolling, tall enough for axis and ticks
                assert chart.region.height >= 10
                assert pane.region.contains_region(chart.region), chart.id
            assert not app.query_one(ScoreChart).display  # accuracy and F1 are in the table
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())
