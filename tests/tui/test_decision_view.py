"""The run detail's decision view: the operating point cycles and is saved; reliability chart."""

from lorasent_tui.core.threshold import read_threshold
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.widgets.decision_view import DecisionView, ReliabilityChart, summary_lines
from tests.tui.conftest import SIZE, calibrated_binary_run, open_run_detail, run_async, settle


def test_threshold_key_cycles_the_operating_points_and_saves_each(app_factory, runs_dir):
    run = calibrated_binary_run(runs_dir)
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await open_run_detail(pilot)
            detail = app.screen
            assert isinstance(detail, RunDetailScreen)
            view = detail.query_one(DecisionView)
            assert set(view.data.points) == {"validation", "test"}
            assert "Threshold 0.5000 · default 0.5" in "\n".join(summary_lines(view.data))
            chart = detail.query_one(ReliabilityChart)
            assert [s.label for s in chart.series][0] == "model" and len(chart.series) == 2
            assert view.region.height > 0 and chart.region.height > 0  # visible at 120x40

            seen = []
            for _ in range(4):
                await pilot.press("t")
                await settle(pilot)
                saved = read_threshold(run.path)
                seen.append(saved["method"])
                assert view.data.chosen == saved
                assert view.data.points["validation"] == saved["validation"]
            assert seen == ["f1", "youden", "fpr", "f1"]
            text = "\n".join(summary_lines(view.data))
            assert "max F1" in text and "validation ECE" in text

    run_async(scenario())
