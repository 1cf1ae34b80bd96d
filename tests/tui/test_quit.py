"""Quitting while a run trains: ctrl+q stops the run and exits, a second ctrl+q exits at once."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from lorasent_tui.core.store import RunStore
from lorasent_tui.tui import app as app_module
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import SIZE, run_async, status_text, wait_until
from tests.tui.fakes import FakeTrainer

ROOT = Path(__file__).resolve().parents[2]


def held_trainer() -> FakeTrainer:
    """A trainer whose first step does not end (deaf to the stop event) until released."""
    trainer = FakeTrainer()
    trainer.hold = threading.Event()
    return trainer


def test_ctrl_q_stops_the_run_then_exits(app_factory):
    trainer = FakeTrainer(wait_after_epoch=1)
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.press("ctrl+q")
            await wait_until(pilot, lambda: app.return_code is not None)  # exits by itself
            assert app.training_session.done.is_set() and not app.quit_at_once

    run_async(scenario())
    (summary,) = RunStore(app.services.runs_dir).list()
    assert summary.state == "stopped" and summary.epochs_done == 1


def test_a_second_ctrl_q_exits_without_waiting(app_factory):
    trainer = held_trainer()
    app = app_factory(trainer=trainer)

    async def scenario():
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("ctrl+s")
                await wait_until(pilot, lambda: app.train_panel.state == "running")
                await pilot.press("ctrl+q")
                await pilot.pause()
                assert app.training_session.stop_event.is_set()
                assert "ctrl+q again quits at once" in status_text(app)
                assert app.return_code is None  # still waiting for the trainer
                await pilot.press("ctrl+q")
                await wait_until(pilot, lambda: app.return_code is not None)
                assert app.quit_at_once
            session = app.training_session
            assert session.running  # the app did not wait for it
            (summary,) = RunStore(app.services.runs_dir).list()  # the run folder reads fine
            assert summary.problem is None and summary.state == "running"  # interrupted once we exit
        finally:
            trainer.hold.set()  # let the thread end, so the test process can
            app.training_session.done.wait(10)

    run_async(scenario())


def test_quitting_waits_a_bounded_time(app_factory, monkeypatch):
    monkeypatch.setattr(app_module, "STOP_WAIT_SECONDS", 0.05)
    trainer = held_trainer()
    app = app_factory(trainer=trainer)

    async def scenario():
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("ctrl+s")
                await wait_until(pilot, lambda: app.train_panel.state == "running")
                await pilot.press("ctrl+q")  # once: the trainer never stops, the app leaves anyway
                await wait_until(pilot, lambda: app.return_code is not None)
                assert app.training_session.running
        finally:
            trainer.hold.set()
            app.training_session.done.wait(10)

    run_async(scenario())


# The app as `lorasent-tui` runs it (run_tui), headless, with a trainer stuck in a step: two
# ctrl+q once it trains. The process must end although the trainer thread never does.
QUIT_TWICE = """
import sys, threading
from pathlib import Path
from lorasent_tui.core.config import build_config
from lorasent_tui.tui import launch as app_module
from tests.tui.fakes import FakeDataLoader, FakePredictorFactory, FakeTrainer

trainer = FakeTrainer()
trainer.hold = threading.Event()  # never set
real_make_app = app_module.make_app

def make_app(*args, **kwargs):
    app = real_make_app(*args, **kwargs, trainer=trainer, predictor_factory=FakePredictorFactory(),
                        data_loader=FakeDataLoader())

    def quit_twice_once_training():
        if app.training_session is not None and app.train_panel.state == "running":
            app.action_quit()
            app.call_later(app.action_quit)

    app.call_later(lambda: app.set_interval(0.05, quit_twice_once_training))
    return app

app_module.make_app = make_app
code = app_module.run_tui(build_config({"epochs": 3}), Path(sys.argv[1]), start=True)
print("run_tui returned", code)  # it must not: the trainer thread still runs
"""


def test_a_second_ctrl_q_ends_the_process_though_the_trainer_thread_runs(tmp_path):
    runs_dir = tmp_path / "runs"
    env = {**os.environ, "TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # A timeout only to fail instead of hanging: waiting for the thread would never end.
    done = subprocess.run([sys.executable, "-c", QUIT_TWICE, str(runs_dir)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run_tui returned" not in done.stdout
    assert "Quit without waiting for training to stop" in done.stderr
    (summary,) = RunStore(runs_dir).list()
    assert summary.state == "interrupted" and summary.problem is None
    assert summary.ended == "process ended during epoch 1"
