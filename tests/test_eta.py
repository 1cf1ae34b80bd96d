"""The ETA and the progress fraction count evaluation and pseudo-labelling as well as training."""

from __future__ import annotations

import pytest

from lorasent_tui.core.eta import FORWARD_SHARE_OF_A_STEP, WorkEstimate
from lorasent_tui.core.events import StepProgress, TrainCallbacks


def estimate_after_epoch_1(train_s=10.0, eval_s=20.0, steps=10, views=100, epochs=3):
    est = WorkEstimate(steps_per_epoch=steps, epochs=epochs, eval_views=views, batch_size=8)
    est.add_training(train_s, steps)
    est.add_scoring(eval_s, views)
    return est


def test_eta_after_one_epoch_includes_the_remaining_evaluations():
    est = estimate_after_epoch_1()
    fraction, eta = est.progress(step=10, views_scored=est.views_before(2))
    assert eta == pytest.approx(2 * (10 + 20))  # training alone would say 20
    assert fraction == pytest.approx(1 / 3)


def test_eta_during_an_evaluation_counts_its_unscored_views():
    est = estimate_after_epoch_1()
    # The bar keeps moving through the evaluation instead of waiting at the end of training.
    before, _ = est.progress(step=20, views_scored=est.views_before(2))
    # Epoch 2 trained, its evaluation half done: half an evaluation plus a whole epoch left.
    fraction, eta = est.progress(step=20, views_scored=est.views_before(2) + 50)
    assert eta == pytest.approx(10 + 10 + 20)
    assert fraction == pytest.approx(50 / 90)
    after, _ = est.progress(step=20, views_scored=est.views_before(2) + 100)
    assert before < fraction < after


def test_first_guess_before_any_evaluation_scales_with_views():
    est = WorkEstimate(steps_per_epoch=10, epochs=2, eval_views=300, batch_size=8)
    est.add_training(5.0, 5)  # one second per step of 8 texts
    per_view = 1.0 / 8 * FORWARD_SHARE_OF_A_STEP
    _, eta = est.progress(step=5, views_scored=0)
    assert eta == pytest.approx(15 * 1.0 + 2 * 300 * per_view)
    windows = WorkEstimate(steps_per_epoch=10, epochs=2, eval_views=900, batch_size=8)
    windows.add_training(5.0, 5)
    assert windows.progress(5, 0)[1] > eta  # three views per text: three times the scoring


def test_a_resumed_run_starts_from_its_recorded_epoch_times():
    est = WorkEstimate(steps_per_epoch=10, epochs=3, eval_views=100, batch_size=8)
    est.seed([{"epoch": 1, "train_s": 10.0, "eval_s": 20.0}])
    fraction, eta = est.progress(step=10, views_scored=est.views_before(2))
    assert eta == pytest.approx(2 * (10 + 20)) and fraction == pytest.approx(1 / 3)


def test_eta_counts_the_pseudo_labelling_after_every_epoch_but_the_last():
    # 100 validation views, 400 pool views, 0.2 s a view; training 10 s an epoch.
    est = WorkEstimate(steps_per_epoch=10, epochs=3, eval_views=100, batch_size=8, pool_views=400)
    est.add_training(10.0, 10)
    est.add_scoring(20.0, 100)
    assert [est.relabels_after(e) for e in (1, 2, 3)] == [True, True, False]
    assert est.views_before(2) == 100 + 400
    # Epoch 1 evaluated, its pseudo-labelling half done: 200 pool views, then two epochs of
    # training (beside pseudo-labelled batches: guessed at twice the steps' cost) and evaluation
    # and one more pseudo-labelling.
    fraction, eta = est.progress(step=10, views_scored=100 + 200)
    assert eta == pytest.approx(200 * 0.2 + 2 * (2 * 10 + 20) + 400 * 0.2)
    assert fraction == pytest.approx((10 + 300 * 0.2) / (10 + 300 * 0.2 + eta))
    # After the last epoch's evaluation nothing is left: the pool is not labelled again.
    assert est.progress(step=30, views_scored=est.views_before(4))[1] == pytest.approx(0.0)


def test_a_teachers_labelling_comes_before_the_first_epoch():
    est = WorkEstimate(steps_per_epoch=10, epochs=2, eval_views=100, batch_size=8, pool_views=400,
                       taught=True)
    assert [est.views_before(e) for e in (1, 2, 3)] == [400, 900, 1000]
    est.add_scoring(40.0, 400)  # the teacher's 400 views took 40 s
    est.start_epoch(1, pseudo=True)  # the teacher's pseudo-labels from the first step
    est.add_training(10.0, 10)
    _, eta = est.progress(step=10, views_scored=est.views_before(1))
    assert eta == pytest.approx(100 * 0.1 + 400 * 0.1 + 10 + 100 * 0.1)


def test_steps_beside_pseudo_labelled_batches_are_timed_apart():
    # 10 steps an epoch, 100 validation and 400 pool views; ratio 1: a step with a pseudo-labelled
    # batch is first guessed at twice a labelled step (0.25 s measured in epoch 1).
    est = WorkEstimate(steps_per_epoch=10, epochs=3, eval_views=100, batch_size=8, pool_views=400,
                       unlabeled_ratio=1)
    est.start_epoch(1, pseudo=False)
    est.add_training(2.5, 10)
    est.add_scoring(20.0, 100)  # 0.2 s a view
    assert [est.trains_on_pseudo_labels(e) for e in (1, 2, 3)] == [False, True, True]
    _, eta = est.progress(step=10, views_scored=100)  # epoch 1 evaluated
    assert eta == pytest.approx(400 * 0.2 + 20 * 0.5 + 200 * 0.2 + 400 * 0.2)
    # Epoch 2 trains beside its pseudo-labels at 0.6 s a step: the rest is predicted at that pace,
    # not at the run's mean (0.43 s) nor at epoch 1's.
    est.start_epoch(2, pseudo=True)
    est.add_training(3.0, 5)
    _, eta = est.progress(step=15, views_scored=500)
    assert eta == pytest.approx(15 * 0.6 + 200 * 0.2 + 400 * 0.2)
    assert est.step_seconds(pseudo=False) == pytest.approx(0.25)
    # A pool that gave no pseudo-labels: the epoch trains (and is timed) as a labelled one.
    est.start_epoch(3, pseudo=False)
    assert est.training_seconds(20)[1] == pytest.approx(10 * 0.25)


def test_the_fraction_never_moves_back_when_the_estimate_grows():
    est = estimate_after_epoch_1()
    before, _ = est.progress(step=15, views_scored=est.views_before(2))
    est.add_scoring(200.0, 100)  # a scoring ten times slower: more work is left than thought
    after, eta = est.progress(step=15, views_scored=est.views_before(2))
    assert after == before and eta > 0


def test_nothing_measured_yet_has_no_eta():
    est = WorkEstimate(steps_per_epoch=10, epochs=3, eval_views=100, batch_size=8)
    assert est.progress(0, 0) == (0.0, None)


def test_event_log_keeps_phase_changes_and_the_end_of_an_evaluation(tmp_path, monkeypatch):
    from lorasent_tui.core import eventlog

    monkeypatch.setattr(eventlog.time, "monotonic", lambda: 100.0)  # every event inside the interval
    log = eventlog.EventLog(tmp_path / "events.jsonl")

    def event(step, phase="train", done=None):
        return StepProgress(step, 20, 1, 2, 0.0, None, None, phase=phase,
                            eval_done=done, eval_total=None if done is None else 50)

    for e in [event(1), event(2), event(10, "eval", 0), event(10, "eval", 25), event(10, "eval", 50),
              event(11), event(12)]:
        log.progress(e)
    kept, _ = eventlog.read_events(tmp_path / "events.jsonl")
    assert [(e.step, e.phase, e.eval_done) for e in kept] == [
        (1, "train", None), (10, "eval", 0), (10, "eval", 50), (11, "train", None)]


def test_a_real_run_reports_evaluation_in_reviews(tiny_model_dir, tmp_path):
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.trainer import train

    events, statuses = [], []
    config = build_config({"model": str(tiny_model_dir("bert")), "train_size": 16, "eval_size": 12,
                           "epochs": 2, "max_length": 16, "batch_size": 8, "eval_batch_size": 4,
                           "device": "cpu", "sliding_windows": True})
    result = train(config, runs_dir=tmp_path, callbacks=TrainCallbacks(
        on_progress=events.append, on_status=lambda s: statuses.append(s.message)))
    assert result.state == "completed", result
    evals = [e for e in events if e.phase == "eval"]
    assert {e.eval_total for e in evals} == {12}  # texts, not views
    assert [e.eval_done for e in evals if e.epoch == 1][0] == 0
    assert [e.eval_done for e in evals if e.epoch == 1][-1] == 12
    fractions = [e.fraction for e in events]
    assert all(a <= b + 1e-9 for a, b in zip(fractions, fractions[1:]))
    last_train = [e for e in events if e.phase == "train"][-1]
    assert last_train.fraction < 1 and last_train.eta > 0  # the last evaluation is still ahead
    assert evals[-1].fraction == pytest.approx(1.0) and evals[-1].eta == pytest.approx(0.0)
    (title,) = [m for m in statuses if m.startswith("evaluating epoch 1")]
    assert title.startswith("evaluating epoch 1: 12 reviews (") and title.endswith(" windows)")


def test_a_run_with_unlabeled_texts_reports_its_pseudo_labelling(tiny_model_dir, tmp_path):
    from lorasent_tui.core.data.unlabeled import UNLABELED_BUILTIN
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train
    from tests.test_resume import tiny_config

    events = []
    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=40,
                         epochs=2, eval_batch_size=8)
    result = train(config, runs_dir=tmp_path, callbacks=TrainCallbacks(on_progress=events.append))
    assert result.state == "completed", result
    relabels = [e for e in events if e.phase == "relabel"]
    # After epoch 1 only (the last epoch's model labels nothing), in texts, to the end.
    assert {(e.epoch, e.eval_total) for e in relabels} == {(1, 40)}
    assert [e.eval_done for e in relabels][0] == 0 and relabels[-1].eval_done == 40
    fractions = [e.fraction for e in events]
    assert all(a <= b + 1e-9 for a, b in zip(fractions, fractions[1:]))
    assert relabels[-1].eta > 0 and events[-1].eta == pytest.approx(0.0)
    times = RunStore(tmp_path).get(result.run_id).status()["epoch_times"]
    assert ["relabel_s" in t for t in times] == [True, False]
