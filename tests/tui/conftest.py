import asyncio
from contextlib import asynccontextmanager

import pytest
from textual.command import CommandPalette
from textual.lazy import Lazy

from lorasent_tui.core.config import build_config
from lorasent_tui.core.store import RunStore
from lorasent_tui.tui.app import LorasentApp
from lorasent_tui.tui.launch import make_app
from tests.tui.fakes import (
    ROC, THREE_CLASSES, FakeDataLoader, FakePredictorFactory, FakeTrainer, class_epoch_metrics, class_roc,
    epoch_metrics,
)

SIZE = (120, 40)


def run_async(coro):
    """Plain pytest (no asyncio plugin needed): each Pilot test runs its own event loop."""
    return asyncio.run(coro)


@pytest.fixture(autouse=True)
def panels_mounted_before_keys(monkeypatch):
    """Pilot tests start once the lazily mounted panels are in (a few ms after the first frame).

    A user pressing keys in those milliseconds is covered by its own test.
    """
    original = LorasentApp.run_test

    @asynccontextmanager
    async def run_test(self, *args, **kwargs):
        async with original(self, *args, **kwargs) as pilot:
            await wait_until(pilot, lambda: not self.query(Lazy))
            yield pilot

    monkeypatch.setattr(LorasentApp, "run_test", run_test)
    monkeypatch.setattr(LorasentApp, "run_test_at_once", original, raising=False)


@pytest.fixture
def runs_dir(tmp_path):
    """The runs folder of app_factory's apps; the first run written there creates it."""
    return tmp_path / "runs"


@pytest.fixture
def app_factory(runs_dir):
    """make_app with fakes; keyword arguments override the fakes."""

    def build(**overrides):
        kwargs = dict(runs_dir=runs_dir, trainer=FakeTrainer(),
                      predictor_factory=FakePredictorFactory(), data_loader=FakeDataLoader())
        kwargs.update(overrides)
        config = kwargs.pop("config", build_config({"epochs": 3, "train_size": 100, "eval_size": 50}))
        return make_app(config, **kwargs)

    return build


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and the messages they posted (and any follow-ups) be handled."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(pilot, predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


async def run_command(pilot, title: str) -> None:
    """Type ``title`` in the command palette (ctrl+p) and run the command it finds first."""
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: CommandPalette.is_open(pilot.app))
    await pilot.press(*title)
    await pilot.pause(0.3)  # the palette searches in the background
    await pilot.press("enter")


def status_text(app) -> str:
    return str(app.query_one("#status-line").render())


async def open_run_detail(pilot, *keys: str) -> None:
    """The Runs tab, then the detail of the run that ``keys`` select (the newest without keys)."""
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press(*keys, "enter")
    await settle(pilot)


# -- run folders as the core writes them, without training --------------------------------------
def ended_run(runs_dir, run_id, rows, config=None, roc=None, state="completed", **status):
    """A run with ``rows`` of epoch metrics (and ``roc``, roc.json's dict) that ended in ``state``,
    its best epoch the most accurate; ``status``: more of status.json, e.g. a fixed started_at."""
    config = config or build_config({"epochs": max(len(rows), 1)})
    run = RunStore(runs_dir).create(config, run_id=run_id, **status)
    run.write_metrics(rows)
    if roc is not None:
        run.write_roc(roc)
    best = max(rows, key=lambda row: row["accuracy"])["epoch"] if rows else None
    run.update_status(state=state, best_epoch=best, epochs_done=len(rows))
    return run


def binary_roc(rows) -> dict:
    """roc.json of binary epoch rows: the fake curve of each epoch, with the row's AUC."""
    return {str(row["epoch"]): {**ROC, "auc": row["roc_auc"]} for row in rows}


def make_run(runs_dir, run_id="20250101-000000-minilm-aaaa"):
    """One finished epoch: a run the Predict tab can load."""
    return ended_run(runs_dir, run_id, [{"epoch": 1, "accuracy": 0.9, "f1": 0.9}])


def make_runs(runs_dir):
    """run-0 (2 epochs) and run-1 (3, newest), completed, and run-damaged."""
    for index, accuracies in enumerate(([0.7, 0.8], [0.75, 0.9, 0.85])):
        rows = [epoch_metrics(e, a) for e, a in enumerate(accuracies, 1)]
        ended_run(runs_dir, f"run-{index}", rows, roc=binary_roc(rows),
                  started_at=f"2025-01-0{index + 1}T10:00:00+00:00")
    damaged_run(runs_dir, "run-damaged")


def damaged_run(runs_dir, run_id):
    """A run folder whose status.json is not JSON."""
    damaged = runs_dir / run_id
    damaged.mkdir(parents=True)
    (damaged / "status.json").write_text("{not json")
    (damaged / "config.json").write_text("{}")


def make_three_class_run(runs_dir, run_id="run-3", accuracies=(0.7, 0.85)):
    """A completed three-class run (started after make_runs' runs)."""
    config = build_config({"epochs": len(accuracies), "labels": list(THREE_CLASSES)})
    rows = [class_epoch_metrics(e, a) for e, a in enumerate(accuracies, 1)]
    roc = {str(e): {**class_roc(a), "auc": a + 0.02} for e, a in enumerate(accuracies, 1)}
    return ended_run(runs_dir, run_id, rows, config, roc, started_at="2025-01-09T10:00:00+00:00")


def calibrated_binary_run(runs_dir):
    """tests/test_threshold.py's binary run with kept predictions, an epoch row and its temperature fitted."""
    from lorasent_tui.core.decision import calibrate_run
    from tests.test_threshold import fake_binary_run

    run = fake_binary_run(runs_dir)
    rows = [epoch_metrics(1, 0.8)]
    run.write_metrics(rows)
    run.write_roc(binary_roc(rows))
    calibrate_run(run)
    return run
