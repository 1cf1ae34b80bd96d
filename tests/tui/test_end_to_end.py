"""The real core behind the TUI: a tiny model trains, lands in Runs and predicts."""

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.launch import make_app
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from lorasent_tui.tui.widgets.prob_bar import ProbBar
from tests.tui.conftest import SIZE, run_async, settle, wait_until

pytestmark = pytest.mark.slow


def test_real_training_then_prediction(tiny_model_dir, tmp_path):
    config = build_config({"model": str(tiny_model_dir("bert")), "train_size": 16, "eval_size": 8,
                           "epochs": 1, "max_length": 32, "batch_size": 8, "device": "cpu"})
    app = make_app(config, runs_dir=tmp_path / "runs")

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.train_panel.state in ("completed", "failed"), 240)
            await settle(pilot)
            assert app.train_panel.state == "completed", app.query_one("#status-line").render()
            assert app.query_one(MetricsTable).row_count == 1
            run_id = app.train_panel.run_id
            assert run_id in app.runs_panel.summaries
            await pilot.press("f2")
            await wait_until(pilot, lambda: app.predict_panel.trained is not None, 120)
            await pilot.press(*"a great film", "enter")
            base, trained = app.query_one("#base-bar", ProbBar), app.query_one("#trained-bar", ProbBar)
            await wait_until(pilot, lambda: base.score is not None and trained.score is not None, 60)
            assert 0.0 <= trained.score <= 1.0 and base.label in ("positive", "negative")

    run_async(scenario())
