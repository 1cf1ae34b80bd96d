"""A run view's Evaluate (e): the run scored on other labelled data, kept under evaluations/."""

import json

import pytest

from lorasent_tui.core.events import RunFinished
from lorasent_tui.core.results import evaluations
from lorasent_tui.tui.evaluation_line import EvaluationLine
from lorasent_tui.tui.run_detail import RunDetailScreen
from lorasent_tui.tui.settings_file import PathScreen
from tests.tui.conftest import SIZE, run_async, settle, status_text, wait_until


@pytest.fixture
def tiny_run(tiny_model_dir, runs_dir):
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.trainer import train

    config = build_config({"model": str(tiny_model_dir("bert")), "dataset": "imdb", "precision": "fp32",
                           "train_size": 16, "eval_size": 8, "epochs": 1, "max_length": 32,
                           "batch_size": 8, "target_modules": "query,value", "device": "cpu"})
    assert isinstance(train(config, runs_dir=runs_dir, run_id="tiny"), RunFinished)
    return runs_dir / "tiny"


def labelled_file(folder):
    path = folder / "other.jsonl"
    rows = [{"text": f"{word} film number {i}", "label": label}
            for i in range(6) for word, label in (("great", "positive"), ("awful", "negative"))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


async def start_evaluation(app, pilot, dataset):
    """Open the only run's view, press e and answer ``dataset``; the view's evaluation line."""
    await settle(pilot)
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, RunDetailScreen)
    await pilot.press("e")
    await settle(pilot)
    assert isinstance(app.screen, PathScreen)
    await pilot.press("ctrl+u", *str(dataset), "enter")
    return app.screen.query_one(EvaluationLine)


def test_evaluating_from_the_run_view_keeps_the_result_and_lists_it(app_factory, tiny_run, tmp_path):
    app = app_factory()
    data = labelled_file(tmp_path)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            line = await start_evaluation(app, pilot, data)
            await wait_until(pilot, lambda: not line.running, timeout=60)
            await settle(pilot)
            (result,) = evaluations(tiny_run)
            assert result.name == "other" and result.size == 12
            assert "Evaluation other (n=12): accuracy" in status_text(app)
            assert "Evaluation other: " in str(app.screen.query_one("#detail-title").render())

    run_async(scenario())


def test_a_bad_dataset_is_one_status_line_and_nothing_is_kept(app_factory, tiny_run, tmp_path):
    app = app_factory()

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            line = await start_evaluation(app, pilot, tmp_path / "missing.csv")
            await wait_until(pilot, lambda: not line.running, timeout=30)
            await settle(pilot)
            assert "failed" in status_text(app) and "no such file" in status_text(app)
            assert evaluations(tiny_run) == []

    run_async(scenario())


def test_ctrl_t_in_the_run_view_stops_the_evaluation(app_factory, tiny_run, tmp_path, monkeypatch):
    import time

    from lorasent_tui.core import evaluate

    def slow_scoring(predictor, texts, labels, on_progress=None):
        for done in range(500):  # until the stop asked for raises out of the progress callback
            on_progress(done, 500)
            time.sleep(0.01)
        raise AssertionError("the evaluation was not stopped")

    monkeypatch.setattr(evaluate, "score_labelled", slow_scoring)
    app = app_factory()
    data = labelled_file(tmp_path)

    async def scenario():
        async with app.run_test(size=SIZE) as pilot:
            line = await start_evaluation(app, pilot, data)
            await wait_until(pilot, lambda: line.running)
            await pilot.press("ctrl+t")
            await wait_until(pilot, lambda: not line.running, timeout=10)
            await settle(pilot)
            assert "stopped; nothing was written" in status_text(app)
            assert evaluations(tiny_run) == []

    run_async(scenario())
