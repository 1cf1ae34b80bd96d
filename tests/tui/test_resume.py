"""Resume on the Runs tab: continues a stopped/failed/interrupted run, or extends a completed
one, on the Train tab, after asking for the total number of epochs."""

from textual.widgets import Input, ProgressBar

from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.conftest import (
    SIZE, damaged_run, ended_run, run_async, run_command, settle, status_text, wait_until,
)
from tests.tui.fakes import ROC, FakeTrainer, epoch_metrics
from lorasent_tui.tui.resume_prompt import ResumeEpochsScreen


def stopped_run(runs_dir, run_id="run-stopped", state="stopped"):
    """A run that finished epoch 1 of 3, with settings unlike the form's defaults."""
    config = build_config({"epochs": 3, "lora_r": 4, "model": "albert-base-v2", "device": "cuda:1"})
    return ended_run(runs_dir, run_id, [epoch_metrics(1, 0.6123)], config, {"1": {**ROC, "auc": 0.63}},
                     state, started_at="2025-01-01T10:00:00+00:00")


def column(table, index):
    return [str(c) for c in table.get_column_at(index)]


def test_resume_shows_finished_epochs_then_continues(app_factory, runs_dir):
    stopped_run(runs_dir)
    trainer = FakeTrainer(accuracies=(0.70, 0.85, 0.80), wait_after_epoch=2)
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            assert "u resume" in str(app.query_one("#runs-info").render())
            await pilot.press("u")
            await pilot.pause()
            assert isinstance(app.screen, ResumeEpochsScreen)
            assert app.screen.query_one("#epochs-input", Input).value == "3"  # as planned
            await pilot.press("enter")
            table = app.query_one("#live-metrics", MetricsTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            assert app.query_one("#main-tabs").active == "train"
            assert trainer.resumes == ["run-stopped"] and trainer.epoch_targets == [3]
            # Epoch 1 comes from metrics.jsonl (accuracy 0.6123), epoch 2 from the trainer.
            assert column(table, 0) == ["1", "2 ★"]
            assert column(table, 3)[0] == "0.6123"
            form = app.train_panel.form.values()
            assert form["lora_r"] == "4" and form["model"] == "albert-base-v2"
            assert form["device"] == "cuda:1"  # not one of the listed devices: added
            assert app.train_panel.state == "running" and "Resuming run run-stopped" in status_text(app)
            # The trainer gets the run's own settings, not the form's.
            assert trainer.calls[0].lora_r == 4

            await pilot.press("ctrl+t")
            await settle(pilot)
            assert app.train_panel.state == "stopped"

            # Resume again, from the command palette this time: epoch 3 completes the run.
            await pilot.press("f3")
            await settle(pilot)
            await run_command(pilot, "resume run")
            await wait_until(pilot, lambda: isinstance(app.screen, ResumeEpochsScreen))
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.train_panel.state == "completed")
            await settle(pilot)
            assert trainer.resumes == ["run-stopped", "run-stopped"]
            assert column(table, 0) == ["1", "2 ★", "3"]
            bar = app.query_one("#train-progress", ProgressBar)
            assert bar.percentage == 1  # the whole run, evaluations included
            (summary,) = RunStore(runs_dir).list()
            assert summary.state == "completed" and summary.epochs_done == 3

    run_async(scenario())


def test_running_and_damaged_runs_do_not_resume(app_factory, runs_dir):
    RunStore(runs_dir).create(build_config({}), run_id="run-b-running",  # this process: alive
                              started_at="2025-01-02T10:00:00+00:00")
    damaged_run(runs_dir, "run-c-damaged")
    trainer = FakeTrainer()
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            panel = app.runs_panel
            expected = {"run-b-running": "still running", "run-c-damaged": "damaged"}
            for run_id, message in expected.items():
                table = panel.query_one("#runs-table")
                table.move_cursor(row=table.get_row_index(run_id))
                await pilot.press("u")
                await settle(pilot)
                assert message in status_text(app), run_id
                assert app.query_one("#main-tabs").active == "runs"
                assert not isinstance(app.screen, ResumeEpochsScreen)
            assert trainer.calls == [] and app.train_panel.state == "idle"

    run_async(scenario())


def test_resume_refused_while_training(app_factory, runs_dir):
    stopped_run(runs_dir)
    trainer = FakeTrainer(wait_after_epoch=1)
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: app.query_one(MetricsTable).row_count == 1)
            await pilot.press("f3")  # not settle(): it would wait for the training worker
            await wait_until(pilot, lambda: "run-stopped" in app.runs_panel.summaries)
            table = app.runs_panel.query_one("#runs-table")
            table.move_cursor(row=table.get_row_index("run-stopped"))
            await pilot.press("u")
            await pilot.pause()
            assert "already running" in status_text(app)
            assert trainer.resumes == [None]
            await pilot.press("ctrl+t")
            await settle(pilot)

    run_async(scenario())


def test_a_completed_run_is_extended_to_the_epochs_asked_for(app_factory, runs_dir):
    done = stopped_run(runs_dir, "run-done", state="completed")  # 1 finished epoch ...
    done.write_config(build_config({"epochs": 1, "lora_r": 4}))  # ... of 1: completed
    trainer = FakeTrainer(accuracies=(0.70,))
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("u")
            await pilot.pause()
            field = app.screen.query_one("#epochs-input", Input)
            assert field.value == "3"  # a completed run: a few epochs more by default
            assert "Extend run run-done" in str(app.screen.query_one("#epochs-title").render())
            await pilot.press("ctrl+u", "1", "enter")  # not more than it has: refused in place
            await pilot.pause()
            assert isinstance(app.screen, ResumeEpochsScreen)
            assert "at least 2" in str(app.screen.query_one("#epochs-error").render())
            await pilot.press("ctrl+u", "4", "enter")
            await wait_until(pilot, lambda: app.train_panel.state == "completed")
            await settle(pilot)
            assert trainer.resumes == ["run-done"] and trainer.epoch_targets == [4]
            assert app.train_panel.form.values()["epochs"] == "4"
            assert column(app.query_one("#live-metrics", MetricsTable), 0)[:1] == ["1"]
            (summary,) = RunStore(runs_dir).list()
            assert (summary.state, summary.epochs_done, summary.epochs) == ("completed", 4, 4)

    run_async(scenario())


def test_escape_cancels_the_resume(app_factory, runs_dir):
    stopped_run(runs_dir)
    trainer = FakeTrainer()
    app = app_factory(trainer=trainer)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f3")
            await settle(pilot)
            await pilot.press("u")
            await pilot.pause()
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, ResumeEpochsScreen)
            assert trainer.calls == [] and app.query_one("#main-tabs").active == "runs"

    run_async(scenario())
