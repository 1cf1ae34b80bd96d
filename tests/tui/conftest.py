import asyncio

import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.app import make_app
from tests.tui.fakes import FakeDataLoader, FakePredictorFactory, FakeTrainer

SIZE = (120, 40)


def run_async(coro):
    """Plain pytest (no asyncio plugin needed): each Pilot test runs its own event loop."""
    return asyncio.run(coro)


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
