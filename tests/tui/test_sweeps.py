"""The Sweeps tab with a fake sweeper: the editor's checks, a live leaderboard, Stop, a trial's
run and its settings."""

from __future__ import annotations

from textual.widgets import Input

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.sweep_editor import parse_values, varied_settings
from lorasent_tui.tui.sweeps_panel import BEST_MARK, SweepsPanel, SweepsTable
from lorasent_tui.tui.widgets.sweep_charts import BestChart
from tests.tui.conftest import run_async, settle, status_text, wait_until
from tests.tui.fakes import FakeSweeper, FakeTrainer


def test_values_read_as_ranges_and_choices():
    assert parse_values("1e-4..1e-2 log") == {"low": 1e-4, "high": 1e-2, "log": True}
    assert parse_values("8..32 step 8") == {"low": 8, "high": 32, "step": 8}
    assert parse_values("4, 8, 16") == {"choices": [4, 8, 16]}
    assert parse_values("minilm, distilbert") == {"choices": ["minilm", "distilbert"]}


def test_each_bad_row_gets_its_own_one_line_error():
    base = build_config()
    space, errors = varied_settings([("learning_rate", "1e-2..1e-4 log"), ("lora_r", "4, 8"),
                                     ("no_such", "1, 2"), ("lora_r", "2, 4")], base, "tpe")
    assert space is None
    assert "below" in errors[0] and 1 not in errors
    assert errors[2] == "unknown setting"
    assert "another row" in errors[3]
    space, errors = varied_settings([("learning_rate", "1e-4..1e-2"), ("", "")], base, "grid")
    assert "grid" in errors[0]  # a float range without a step has no grid
    space, errors = varied_settings([("lora_r", "4, 8"), ("", "")], base, "tpe")
    assert errors == {} and [d.name for d in space.dimensions] == ["lora_r"]


async def _open_sweeps(pilot, trials: int = 3, study: str = "s1") -> SweepsPanel:
    await pilot.press("f10")
    panel = pilot.app.query_one(SweepsPanel)
    panel.query_one("#sweep-trials", Input).value = str(trials)
    panel.query_one("#sweep-study", Input).value = study
    return panel


def test_a_bad_range_waits_then_start_runs_the_trials_and_marks_the_best(app_factory, tmp_path):
    sweeper = FakeSweeper(accuracies=(0.70, 0.90, 0.80))
    app = app_factory(sweeper=sweeper)

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            panel = await _open_sweeps(pilot, trials=3)
            values = panel.query_one("#vary-values-0", Input)
            good, values.value = values.value, "1e-2..1e-4 log"
            await pilot.pause()
            assert "must be below" in str(panel.query_one("#vary-error-0").render())
            await pilot.click("#sweep-start")
            await settle(pilot)
            assert sweeper.requests == [] and "fix the varied settings" in status_text(app)
            values.value = good
            await pilot.pause()
            assert str(panel.query_one("#vary-error-0").render()) == ""
            detail = panel.query_one("#sweep-detail")
            seen = []  # every line the sweep's progress line showed
            original = detail.update
            detail.update = lambda text="": (seen.append(str(text)), original(text))[1]
            await pilot.click("#sweep-start")
            await wait_until(pilot, lambda: str(panel.query_one("#sweep-state").render()) == "finished")
            table = panel.query_one(SweepsTable)
            assert table.row_count == 3
            assert table.get_row_at(0)[0] == f"{BEST_MARK} 1"  # 0.90: trial 1, first
            assert [table.get_row_at(i)[2] for i in range(3)] == ["0.9000", "0.8000", "0.7000"]
            assert not any(BEST_MARK in table.get_row_at(i)[0] for i in (1, 2))
            assert panel.query_one(BestChart).series[0].ys == [0.70, 0.90, 0.90]
            request = sweeper.requests[0]
            assert request.study == "s1" and request.trials == 3
            assert request.space.fixed["epochs"] == 3  # the Train form's settings are fixed
            # The status line's message bubbles up to the app after the state is shown.
            await wait_until(pilot, lambda: "best trial 1" in status_text(app))
            assert seen[:3] == ["Starting study s1…", "Study s1 in fake storage", "Trial 0 training: learning_rate=0.000333 lora_r=4 "
                                "(run s1-trial000)"]
            assert "Trial 0 epoch 1: accuracy 0.7000" in seen
            assert (tmp_path / "runs" / "s1-trial001").is_dir()

    run_async(scenario())


def test_stop_ends_the_sweep_and_one_training_runs_at_a_time(app_factory):
    sweeper = FakeSweeper(wait_after_trial=0)
    trainer = FakeTrainer(wait_after_epoch=1)
    app = app_factory(sweeper=sweeper, trainer=trainer)

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            panel = await _open_sweeps(pilot, trials=5)
            await pilot.click("#sweep-start")
            await wait_until(pilot, sweeper.waiting.is_set)
            await pilot.press("ctrl+s")  # one training at a time
            await pilot.pause()
            assert "a sweep is running" in status_text(app) and trainer.calls == []
            await pilot.press("f10")
            await pilot.click("#sweep-stop")
            await wait_until(pilot, lambda: str(panel.query_one("#sweep-state").render()) == "stopped")
            assert panel.query_one(SweepsTable).row_count == 1
            assert not app.training_session.running
            await pilot.press("ctrl+s")  # and no sweep while a run trains
            await wait_until(pilot, trainer.epoch_started.is_set)
            await pilot.press("f10")
            await pilot.click("#sweep-start")
            assert len(sweeper.requests) == 1 and "a run is training" in status_text(app)
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())


def test_a_trial_opens_and_its_settings_reach_the_train_form(app_factory):
    app = app_factory(sweeper=FakeSweeper(accuracies=(0.70, 0.90, 0.80)))

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            panel = await _open_sweeps(pilot, trials=3)
            panel.query_one("#vary-values-1", Input).value = "4, 16, 32"
            await pilot.click("#sweep-start")
            await wait_until(pilot, lambda: str(panel.query_one("#sweep-state").render()) == "finished")
            table = panel.query_one(SweepsTable)
            table.focus()
            table.move_cursor(row=0)  # the best: trial 1, lora_r 16
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            assert app.screen.runs[0].run_id == "s1-trial001"
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, RunDetailScreen))
            table.focus()
            await pilot.press("s")
            await wait_until(pilot, lambda: app.query_one("#main-tabs").active == "train")
            await settle(pilot)
            assert app.train_panel.form.query_one("#field-lora_r", Input).value == "16"
            assert "s1-trial001" in status_text(app)

    run_async(scenario())
