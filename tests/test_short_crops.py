"""Short crops: the last-sentence rule, and that a run trains on the crops besides its reviews
while validation stays the reviews alone."""

from __future__ import annotations

from lorasent_tui.core.events import RunFinished, TrainCallbacks
from lorasent_tui.core.short_crops import short_crops
from tests.test_resume import tiny_config


def test_crops_are_last_sentences_with_their_reviews_labels():
    texts = ["Dull start.<br /><br />But the ending made it all worth it!",  # cropped
             "One long sentence without any end mark at all",  # one sentence: not cropped
             "Fine. Bad."]  # the last sentence is under five words: not cropped
    assert short_crops(texts, [1, 0, 0]) == (["But the ending made it all worth it!"], [1])


def test_a_run_with_short_crops_trains_more_rows_and_validates_the_same_reviews(tiny_model_dir, tmp_path):
    from lorasent_tui.core.trainer import train

    seen = {}
    for crops in (False, True):
        totals = []
        result = train(tiny_config(tiny_model_dir("bert"), epochs=1, batch_size=4, short_crops=crops),
                       runs_dir=tmp_path / str(crops),
                       callbacks=TrainCallbacks(on_progress=lambda p: totals.append((p.total, p.eval_total))))
        assert isinstance(result, RunFinished) and result.state == "completed", result
        seen[crops] = (max(t for t, _ in totals), max(e or 0 for _, e in totals))
    (plain_steps, plain_eval), (crop_steps, crop_eval) = seen[False], seen[True]
    assert crop_steps > plain_steps  # 24 reviews: 6 batches; their crops add batches
    assert crop_eval == plain_eval == 16


def test_the_pseudo_label_prior_counts_the_reviews_not_their_crops():
    from types import SimpleNamespace

    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.data.rows import Splits
    from lorasent_tui.core.models import load_tokenizer
    from lorasent_tui.core.session import prepare_data

    reviews = ["Dull start. But the ending made it all worth it!"] * 3 + ["Bad."] * 3  # positives crop
    session = SimpleNamespace(
        config=build_config({"short_crops": True}), splits=Splits(reviews, [1, 1, 1, 0, 0, 0], ["Fine."], [1], "t"),
        unlabeled_texts=[], run=SimpleNamespace(run_id="r"), tokenizer=load_tokenizer("minilm"),
        dist=SimpleNamespace(world=1), label_names=("negative", "positive"))
    prepare_data(session, TrainCallbacks())
    assert session.train_labels.count(1) == 6 and session.class_counts == [3, 3]
