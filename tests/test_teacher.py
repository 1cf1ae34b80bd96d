"""A teacher run labels the unlabeled texts before a run's first epoch (Noisy Student)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from lorasent_tui.core.data.unlabeled import UNLABELED_BUILTIN
from lorasent_tui.core.errors import ConfigError
from lorasent_tui.core.events import RunFailed, TrainCallbacks
from lorasent_tui.core.store import RunStore
from tests.test_resume import tiny_config
from tests.test_unlabeled import rank_select


@pytest.fixture
def teacher(tiny_model_dir, tmp_path):
    """A finished one-epoch run of the tiny model in ``tmp_path / "runs"``."""
    from lorasent_tui.core.trainer import train

    finished = train(tiny_config(tiny_model_dir("bert"), epochs=1), runs_dir=tmp_path / "runs")
    assert finished.state == "completed", finished
    return RunStore(tmp_path / "runs").get(finished.run_id)


def recording_select(monkeypatch):
    """``select`` as the other tests replace it (the tiny model is not confident), recording the
    probabilities it is given."""
    from lorasent_tui.core import pseudo_labels

    seen = []

    def select(probs, threshold, prior):
        seen.append(np.asarray(probs))
        return rank_select(probs, threshold, prior)

    monkeypatch.setattr(pseudo_labels, "select", select)
    return seen


def test_the_teachers_labels_are_the_first_epochs_and_the_run_records_the_teacher(
        teacher, tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core.data import load_splits
    from lorasent_tui.core.data.unlabeled import unlabeled_pool
    from lorasent_tui.core.predict import Predictor
    from lorasent_tui.core.trainer import train

    seen = recording_select(monkeypatch)
    statuses = []
    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=24,
                         epochs=2, teacher="latest")
    finished = train(config, runs_dir=tmp_path / "runs",
                     callbacks=TrainCallbacks(on_status=lambda e: statuses.append(e.message)))
    assert finished.state == "completed", finished
    run = RunStore(tmp_path / "runs").get(finished.run_id)
    # "latest" is fixed to the run it named, so a resume reads the same teacher.
    assert run.config().teacher == teacher.run_id
    assert [r["pseudo_labels"] for r in run.metrics()] == [12, 12]
    assert f"pseudo-labelling 24 unlabeled texts with teacher run {teacher.run_id}" in statuses
    # The first selection scored the pool exactly as `predict` reads it with the teacher run.
    pool = unlabeled_pool(config, load_splits(config))
    expected = Predictor.from_run(teacher.run_id, tmp_path / "runs").class_probs(pool, config.eval_batch_size)
    np.testing.assert_allclose(seen[0], expected, atol=1e-5)
    card = (run.path / "README.md").read_text(encoding="utf-8")
    assert f"teacher run `{teacher.run_id}`" in card


def test_a_stop_while_the_teacher_labels_leaves_no_epoch_and_the_resume_teaches_again(
        teacher, tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core.trainer import train

    recording_select(monkeypatch)
    stop = threading.Event()
    phases = []

    def on_progress(event):
        phases.append(event.phase)
        if event.phase == "teach":
            stop.set()

    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=200,
                         epochs=1, teacher=teacher.run_id, eval_batch_size=8)
    first = train(config, runs_dir=tmp_path / "runs", stop_event=stop,
                  callbacks=TrainCallbacks(on_progress=on_progress))
    assert first.state == "stopped" and phases == ["teach"], (first, phases)
    assert RunStore(tmp_path / "runs").get(first.run_id).metrics() == []
    resumed = train(config, runs_dir=tmp_path / "runs", resume=first.run_id)
    assert resumed.state == "completed", resumed
    assert [r["pseudo_labels"] for r in RunStore(tmp_path / "runs").get(first.run_id).metrics()] == [100]


def test_a_teacher_needs_unlabeled_texts(tiny_model_dir):
    with pytest.raises(ConfigError) as caught:
        tiny_config(tiny_model_dir("bert"), teacher="latest")
    assert "unlabeled" in caught.value.field_errors["teacher"]


@pytest.mark.parametrize("ref, message", [
    ("20990101-000000-none-0000", "no run '20990101-000000-none-0000'"),
    ("other-classes", "pass a teacher trained on the same classes"),
])
def test_a_teacher_that_cannot_teach_fails_before_a_run_folder_exists(
        teacher, tiny_model_dir, tmp_path, ref, message):
    import json

    from lorasent_tui.core.trainer import train

    if ref == "other-classes":
        saved = json.loads((teacher.path / "config.json").read_text())
        (teacher.path / "config.json").write_text(json.dumps({**saved, "labels": ["a", "b", "c"]}))
        ref = teacher.run_id
    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=8, teacher=ref)
    failed = train(config, runs_dir=tmp_path / "runs")
    assert isinstance(failed, RunFailed) and failed.user_error and message in failed.message, failed
    assert [r.run_id for r in RunStore(tmp_path / "runs").list()] == [teacher.run_id]
