"""Long texts read as a truncated view plus overlapping windows, their verdicts averaged."""

import math

import pytest

from lorasent_tui.core.views import (Views, combine_log_probs, cover_starts, encode_views, views_of,
                                     window_starts)


class WordTokenizer:
    """One id per word, [CLS]=1 before and [SEP]=2 after, like a BERT tokenizer."""

    def __call__(self, texts, add_special_tokens=True, truncation=False, verbose=False):
        single = isinstance(texts, str)
        rows = [[int(w) for w in t.split()] if t != "hello" else [7] for t in ([texts] if single else texts)]
        if add_special_tokens:
            rows = [[1, *r, 2] for r in rows]
        return {"input_ids": rows[0] if single else rows}


@pytest.mark.parametrize("length,size,stride", [(10, 4, 2), (11, 4, 2), (100, 30, 15), (5, 5, 2), (3, 8, 4)])
def test_windows_cover_the_whole_text_and_end_at_its_end(length, size, stride):
    starts = window_starts(length, size, stride)
    covered = {i for s in starts for i in range(s, min(length, s + size))}
    assert covered == set(range(length))
    assert starts[-1] + min(size, length) == length
    assert all(b - a <= stride for a, b in zip(starts, starts[1:]))


def test_a_very_long_text_gets_at_most_the_window_limit_spread_over_all_of_it():
    starts = window_starts(100_000, 254, 127, limit=16)
    assert len(starts) == 16 and starts[0] == 0 and starts[-1] == 100_000 - 254
    assert sorted(set(starts)) == starts
    covered = window_starts(16 * 254, 254, 127, limit=16)  # still every token, when it can be
    assert {i for s in covered for i in range(s, s + 254)} == set(range(16 * 254))


@pytest.mark.parametrize("length,size", [(9, 8), (16, 8), (17, 8), (300, 254), (509, 254), (2000, 254)])
def test_cover_windows_are_the_fewest_that_cover_the_text(length, size):
    starts = cover_starts(length, size)
    assert len(starts) == math.ceil(length / size)
    assert starts[0] == 0 and starts[-1] == length - size
    assert {i for s in starts for i in range(s, s + size)} == set(range(length))


def test_cover_windows_are_capped_for_a_very_long_text():
    starts = cover_starts(100_000, 254, limit=16)
    assert len(starts) == 16 and starts[0] == 0 and starts[-1] == 100_000 - 254


@pytest.mark.parametrize("layout", ["cover", "overlap"])
def test_a_short_text_has_one_view_and_a_long_one_gets_windows(layout):
    assert views_of(list(range(5)), 8, "head_tail", layout) == [list(range(5))]
    long = list(range(20))
    views = views_of(long, 8, "head_tail", layout)
    if layout == "overlap":
        assert views[0] == [0, 1, 14, 15, 16, 17, 18, 19]  # the truncated view comes first
        assert views[1:] == [long[s:s + 8] for s in (0, 4, 8, 12)]
    else:
        assert views == [long[s:s + 8] for s in (0, 6, 12)]
    assert views_of(long, 8, "head_tail", None) == [[0, 1, 14, 15, 16, 17, 18, 19]]


def test_cover_views_weigh_equally():
    texts = ["3 4", " ".join(str(i) for i in range(10, 30))]
    views = encode_views(WordTokenizer(), texts, max_length=10, truncation="right", layout="cover")
    assert views.owner == [0, 1, 1, 1] and views.weight == [1.0, 1 / 3, 1 / 3, 1 / 3]


def test_encode_views_adds_special_tokens_and_records_owners():
    texts = ["3 4", " ".join(str(i) for i in range(10, 30))]
    views = encode_views(WordTokenizer(), texts, max_length=10, truncation="right", layout="overlap")
    assert views.count == 2
    assert views.owner[0] == 0 and set(views.owner[1:]) == {1}
    assert views.weight[0] == 1.0 and views.weight[1] == 0.5
    assert abs(sum(views.weight[1:]) - 1.0) < 1e-9
    assert views.ids[0] == [1, 3, 4, 2]
    assert all(v[0] == 1 and v[-1] == 2 and len(v) <= 10 for v in views.ids)
    assert not views.single()
    assert encode_views(WordTokenizer(), texts, 10, "right", None).single()


def test_combined_log_probs_are_the_normalised_mean_of_the_views():
    import torch

    logits = torch.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0], [3.0, -1.0]])
    combined = combine_log_probs(logits, Views([[]] * 4, [0, 0, 0, 1], [0.5, 0.25, 0.25, 1.0], 2))
    assert torch.allclose(combined.exp().sum(dim=1), torch.ones(2))
    views = torch.log_softmax(logits[:3], dim=-1)
    mean = 0.5 * views[0] + 0.25 * views[1] + 0.25 * views[2]
    assert torch.allclose(combined[0], torch.log_softmax(mean, dim=-1))
    assert torch.allclose(combined[1], torch.log_softmax(logits[3], dim=-1))
    # One view per text: exactly the model's own probabilities.
    single = combine_log_probs(logits, Views([[]] * 4, [0, 1, 2, 3], [1.0] * 4, 4))
    assert math.isclose(float(single[3, 0].exp()), float(torch.softmax(logits[3], dim=-1)[0]), rel_tol=1e-6)


def test_training_reports_validation_progress_in_reviews_and_names_the_windows(tiny_model_dir, tmp_path):
    from lorasent_tui.core.config import build_config
    from lorasent_tui.core.events import RunFinished, TrainCallbacks
    from lorasent_tui.core.trainer import train

    statuses, progress = [], []
    cfg = build_config({"model": str(tiny_model_dir("bert")), "precision": "fp32", "train_size": 8,
                        "eval_size": 8, "epochs": 1, "max_length": 24, "eval_batch_size": 2})
    result = train(cfg, runs_dir=tmp_path, callbacks=TrainCallbacks(
        on_status=lambda e: statuses.append(e.message), on_progress=progress.append))
    assert isinstance(result, RunFinished), result
    (title,) = [m for m in statuses if m.startswith("evaluating epoch 1: ")]
    reviews, windows = title.split(": ")[1].split(" reviews (")
    assert reviews == "8" and int(windows.split()[0].replace(",", "")) > 8  # IMDb reviews exceed 24 tokens
    evaluation = [(e.eval_done, e.eval_total) for e in progress if e.phase == "eval"]
    assert len(evaluation) >= 2 and evaluation[-1] == (8, 8)
