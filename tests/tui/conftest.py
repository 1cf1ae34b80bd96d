import asyncio
from contextlib import asynccontextmanager

import pytest
from textual.lazy import Lazy

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.app import LorasentApp
from lorasent_tui.tui.launch import make_app
from tests.tui.fakes import FakeDataLoader, FakePredictorFactory, FakeTrainer

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
def app_factory(tmp_path):
    """make_app with fakes; keyword arguments override the fakes."""

    def build(**overrides):
        kwargs = dict(runs_dir=tmp_path / "runs", trainer=FakeTrainer(),
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


def status_text(app) -> str:
    return str(app.query_one("#status-line").render())
