"""The run queue in the app: Add to queue (ctrl+n), Run queue (ctrl+r), and the question at start
when queued settings are left from last time. A fake sweeper runs the queue."""

from __future__ import annotations

from lorasent_tui.core.config import build_config
from lorasent_tui.core.sweep.queue_files import add_to_queue, queued
from lorasent_tui.tui.confirm import ConfirmScreen
from lorasent_tui.tui.services import QueueRequest
from lorasent_tui.tui.sweeps_panel import SweepsPanel, SweepsTable
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until
from tests.tui.fakes import FakeSweeper, FakeTrainer

BASE = {"epochs": 1, "train_size": 100, "eval_size": 50}


def _state(app) -> str:
    return str(app.query_one(SweepsPanel).query_one("#sweep-state").render())


def test_two_queued_settings_run_in_order_and_leave_the_queue(app_factory, tmp_path):
    runs = tmp_path / "runs"
    sweeper = FakeSweeper(accuracies=(0.70, 0.90))
    app = app_factory(sweeper=sweeper)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+r")
            assert "queue is empty" in status_text(app) and sweeper.requests == []
            for rank, number in ((4, 1), (16, 2)):
                app.train_panel.form.fill(build_config({**BASE, "lora_r": rank}))
                await pilot.press("ctrl+n")
                await settle(pilot)
                assert f"queued as #{number} ({number} waiting)" in status_text(app)
            assert [e.config().lora_r for e in queued(runs)] == [4, 16]
            await pilot.press("ctrl+r")
            await wait_until(pilot, lambda: _state(app) == "finished")
            assert [c.lora_r for c in sweeper.configs] == [4, 16]
            assert isinstance(sweeper.requests[0], QueueRequest)
            assert queued(runs) == []
            assert app.query_one(SweepsPanel).query_one(SweepsTable).row_count == 2
            assert "Queue finished" in status_text(app)

    run_async(scenario())


def test_invalid_settings_are_not_queued(app_factory, tmp_path):
    app = app_factory(sweeper=FakeSweeper())

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            field = app.query_one("#field-lora_r")
            field.value = "0"
            await pilot.pause()
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert "Not queued, fix the settings first" in status_text(app)
            assert queued(tmp_path / "runs") == []

    run_async(scenario())


def test_the_queue_refuses_to_start_while_a_run_trains(app_factory, tmp_path):
    runs = tmp_path / "runs"
    add_to_queue(runs, build_config(BASE))
    trainer = FakeTrainer(wait_after_epoch=1)
    sweeper = FakeSweeper()
    app = app_factory(trainer=trainer, sweeper=sweeper, start=True)  # --start: no question asked

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: trainer.epoch_started.is_set())
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert "a run is training" in status_text(app) and sweeper.requests == []
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())


def test_a_queue_left_unfinished_continues_on_the_next_start_after_asking(app_factory, tmp_path):
    runs = tmp_path / "runs"
    for rank in (4, 16):
        add_to_queue(runs, build_config({**BASE, "lora_r": rank}))
    first = FakeSweeper(wait_after_trial=0)
    app = app_factory(sweeper=first)

    async def close_during_the_queue():
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, first.waiting.is_set)
            # the app closes here, stopping the queue after its first run

    run_async(close_during_the_queue())
    assert [c.lora_r for c in first.configs] == [4]
    assert [e.config().lora_r for e in queued(runs)] == [16]

    declined = app_factory(sweeper=FakeSweeper())

    async def say_no():
        async with declined.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(declined.screen, ConfirmScreen))
            assert "1 queued run did not complete" in str(declined.screen.query_one("#confirm-question").render())
            await pilot.press("n")
            await settle(pilot)
            assert "1 queued run waits" in status_text(declined)
            assert declined.services.sweeper.requests == []

    run_async(say_no())
    assert len(queued(runs)) == 1

    second = FakeSweeper()
    reopened = app_factory(sweeper=second)

    async def continue_it():
        async with reopened.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(reopened.screen, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: _state(reopened) == "finished")
            assert [c.lora_r for c in second.configs] == [16]
            assert queued(runs) == []

    run_async(continue_it())
