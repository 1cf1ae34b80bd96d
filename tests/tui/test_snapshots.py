"""SVG snapshots of each screen (pytest-textual-snapshot); `pytest --snapshot-update` redraws them.

Everything shown is made deterministic: fake trainer, predictors and data, a fixed run id,
runs with fixed start times, and a relative runs folder (its path is on the Runs tab).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.lazy import Lazy
from textual.widgets import Input

from lorasent_tui.core.config import build_config
from lorasent_tui.tui.launch import make_app
from lorasent_tui.tui.widgets.lazy_plot import LazyPlot
from lorasent_tui.tui.widgets.metrics_table import MetricsTable
from tests.tui.fakes import THREE_CLASSES, FakeDataLoader, FakePredictorFactory, FakeSweeper, FakeTrainer
from tests.tui.conftest import (
    SIZE, calibrated_binary_run, ended_run, make_runs, make_three_class_run, settle, wait_until,
)


@pytest.fixture
def snapshot_app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def build(**overrides):
        kwargs = dict(runs_dir=Path("runs"), trainer=FakeTrainer(run_id="run-snapshot"),
                      predictor_factory=FakePredictorFactory(), data_loader=FakeDataLoader())
        kwargs.update(overrides)
        return make_app(build_config({"epochs": 3, "train_size": 100, "eval_size": 50}), **kwargs)

    return build


async def ready(pilot) -> None:
    """Lazy panels mounted, workers done, every chart with data drawn, no blinking cursor."""
    await wait_until(pilot, lambda: not pilot.app.query(Lazy))
    await settle(pilot)
    for field in pilot.app.query(Input):
        field.cursor_blink = False

    def drawn() -> bool:
        return all(chart._rendered is not None or not chart.has_data
                   for chart in pilot.app.screen.query(LazyPlot) if chart.display)

    await wait_until(pilot, drawn)
    await settle(pilot)


def test_train_tab_at_start(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=ready)


def test_train_tab_at_start_80x24(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=ready)


def test_train_tab_after_a_run(snap_compare, snapshot_app):
    async def train(pilot):
        await ready(pilot)
        await pilot.press("ctrl+s")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=train)


def test_train_tab_after_a_run_80x24(snap_compare, snapshot_app):
    async def train(pilot):
        await ready(pilot)
        await pilot.press("ctrl+s")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=train)


async def training(pilot) -> None:
    """Two epochs done, the trainer waiting for Stop: the Train tab as a run trains."""
    await wait_until(pilot, lambda: not pilot.app.query(Lazy))
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: pilot.app.query_one(MetricsTable).row_count == 2)
    await pilot.pause()  # not settle(): it would wait for the training worker

    def drawn() -> bool:
        return all(chart._rendered is not None or not chart.has_data
                   for chart in pilot.app.screen.query(LazyPlot) if chart.display)

    await wait_until(pilot, drawn)
    await pilot.pause()


def test_train_tab_while_training(snap_compare, snapshot_app):
    app = snapshot_app(trainer=FakeTrainer(run_id="run-snapshot", wait_after_epoch=2))
    assert snap_compare(app, terminal_size=SIZE, run_before=training)


def test_train_tab_while_training_80x24(snap_compare, snapshot_app):
    app = snapshot_app(trainer=FakeTrainer(run_id="run-snapshot", wait_after_epoch=2))
    assert snap_compare(app, terminal_size=(80, 24), run_before=training)


def test_predict_tab(snap_compare, snapshot_app):
    async def predict(pilot):
        await ready(pilot)
        await pilot.press("f2")
        await ready(pilot)
        await pilot.press(*"What a film")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=predict)


async def show_runs(pilot) -> None:
    await ready(pilot)
    await pilot.press("f3")
    await ready(pilot)


def test_runs_tab(snap_compare, snapshot_app):
    make_runs(Path("runs"))
    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=show_runs)


def test_run_detail(snap_compare, snapshot_app):
    make_runs(Path("runs"))

    async def detail(pilot):
        await show_runs(pilot)
        await pilot.press("down", "enter")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=detail)


def test_run_detail_threshold_and_reliability(snap_compare, snapshot_app):
    """A binary run with saved predictions, calibrated, its threshold chosen by Youden's J."""
    from lorasent_tui.core.decision import choose_run_threshold

    choose_run_threshold(calibrated_binary_run(Path("runs")), "youden")

    async def detail(pilot):
        await show_runs(pilot)
        await pilot.press("enter")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=detail)


async def predict_a_review(pilot) -> None:
    await ready(pilot)
    await pilot.press("f2")
    await ready(pilot)
    await pilot.press(*"What a film")
    await ready(pilot)


def test_predict_tab_80x24(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=predict_a_review)


def test_predict_tab_explanation(snap_compare, snapshot_app):
    async def explain(pilot):
        await ready(pilot)
        await pilot.press("f2")
        await ready(pilot)
        await pilot.press(*"Not good, not great, but fun", "ctrl+e")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=explain)


def make_long_model_runs(runs_dir: Path) -> None:
    """A run of a model with a long hub id (and so a long run id) beside the runs of make_runs."""
    make_runs(runs_dir)
    config = build_config({"model": "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"})
    ended_run(runs_dir, "20250103-100000-paraphrase-multilingual--abcd", [], config, state="stopped",
              started_at="2025-01-03T10:00:00+00:00")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_runs_tab_long_model_name(snap_compare, snapshot_app, size):
    make_long_model_runs(Path("runs"))
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=show_runs)


def test_sweeps_tab_after_a_sweep(snap_compare, snapshot_app):
    async def sweep(pilot):
        await ready(pilot)
        await pilot.press("f10")
        pilot.app.query_one("#sweep-trials", Input).value = "3"
        pilot.app.query_one("#sweep-study", Input).value = "snapshot"
        await pilot.click("#sweep-start")
        await wait_until(pilot, lambda: str(pilot.app.query_one("#sweep-state").render()) == "finished")
        await ready(pilot)

    app = snapshot_app(sweeper=FakeSweeper(accuracies=(0.70, 0.90, 0.80)))
    assert snap_compare(app, terminal_size=SIZE, run_before=sweep)


# -- more than two classes -----------------------------------------------------------------
async def train_three_classes(pilot) -> None:
    await ready(pilot)
    await pilot.press("ctrl+s")
    await ready(pilot)


async def three_class_matrix(pilot) -> None:
    """After a three-class run, the Classes view of its best epoch."""
    await train_three_classes(pilot)
    pilot.app.query_one("#train-views").active = "classes-pane"
    await ready(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_train_tab_after_a_three_class_run(snap_compare, snapshot_app, size):
    app = snapshot_app(trainer=FakeTrainer(run_id="run-snapshot", classes=THREE_CLASSES))
    assert snap_compare(app, terminal_size=size, run_before=train_three_classes)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_train_tab_confusion_matrix(snap_compare, snapshot_app, size):
    app = snapshot_app(trainer=FakeTrainer(run_id="run-snapshot", classes=THREE_CLASSES))
    assert snap_compare(app, terminal_size=size, run_before=three_class_matrix)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_run_detail_confusion_matrix(snap_compare, snapshot_app, size):
    make_three_class_run(Path("runs"))

    async def matrix(pilot):
        await show_runs(pilot)
        await pilot.press("enter", "m")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=size, run_before=matrix)


def test_predict_tab_three_classes(snap_compare, snapshot_app):
    make_three_class_run(Path("runs"))

    async def predict(pilot):
        await show_runs(pilot)
        await pilot.press("p")
        await ready(pilot)
        await pilot.press(*"not good")
        await ready(pilot)

    app = snapshot_app(predictor_factory=FakePredictorFactory(classes=THREE_CLASSES))
    assert snap_compare(app, terminal_size=SIZE, run_before=predict)


def test_error_browser(snap_compare, snapshot_app):
    from tests.tui.test_error_browser import make_run_with_predictions

    make_run_with_predictions(Path("runs"))

    async def browse(pilot):
        await show_runs(pilot)
        await pilot.press("enter", "x")
        await ready(pilot)

    assert snap_compare(snapshot_app(), terminal_size=(120, 40), run_before=browse)
