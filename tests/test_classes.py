"""Any number of classes: label parsing and ordering, per-class sampling (balanced, stratified)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.data import load_splits
from lorasent_tui.core.data.sampling import sample_indices, stratified_sizes
from lorasent_tui.core.errors import DataError
from lorasent_tui.core.labels import LABEL_NAMES, LabelError, class_ids


def names_of(values, given=None):
    return class_ids(values, given)[0]


def test_binary_data_keeps_the_sentiment_names():
    for values in ([0, 1], ["1", "0"], [True, False], ["Negative", " pos ", "1.0", "false"]):
        names, ids = class_ids(values)
        assert names == LABEL_NAMES
    assert class_ids(["neg", "positive"])[1] == {"neg": 0, "positive": 1}


def test_integers_are_class_ids_and_numbers_sort_numerically():
    names, ids = class_ids([2, 0, 1, 2])
    assert names == ("0", "1", "2") and ids == {0: 0, 1: 1, 2: 2}
    assert names_of(["10", "9", "1", "2.0"]) == ("1", "2", "9", "10")  # not "1", "10", "2"
    assert names_of([5, 3, 4, 1, 2]) == ("1", "2", "3", "4", "5")


def test_sentiment_words_in_sentiment_order():
    assert names_of(["positive", "neutral", "negative"]) == ("negative", "neutral", "positive")
    assert names_of(["POS", "neu", "Neg"]) == ("negative", "neutral", "positive")
    assert names_of(["very positive", "negative", "Very  Negative", "neutral", "positive"]) == (
        "very negative", "negative", "neutral", "positive", "very positive")


def test_other_names_sort_alphabetically():
    assert names_of(["bug", "Billing", "account"]) == ("account", "Billing", "bug")
    assert names_of(["neutral", "billing", "positive"]) == ("billing", "neutral", "positive")


def test_given_labels_fix_names_and_order():
    names, ids = class_ids(["positive", "negative", "neutral"], ["positive", "neutral", "negative"])
    assert names == ("positive", "neutral", "negative") and ids["positive"] == 0
    names, ids = class_ids([0, 2, 1], ["bad", "ok", "good"])  # ids 0..N-1 named
    assert names == ("bad", "ok", "good") and ids == {0: 0, 1: 1, 2: 2}
    names, ids = class_ids(["5", "1"], ["1", "2", "3", "4", "5"])  # stars by name
    assert ids == {"5": 4, "1": 0}
    assert class_ids([0, 1], ["negative", "positive"]) == (LABEL_NAMES, {0: 0, 1: 1})


def test_given_labels_reject_other_values_naming_them():
    with pytest.raises(LabelError, match="'neutral' not among the given labels negative, positive"):
        class_ids(["negative", "neutral", "positive"], ["negative", "positive"])
    with pytest.raises(LabelError, match="values '3', 'x'"):
        class_ids([0, 1, 3, "x"], ["a", "b", "c"])


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def three_class_rows(counts=(30, 30, 30)):
    words = ("negative", "neutral", "positive")
    return [{"text": f"{word} review {i}", "label": word}
            for word, n in zip(words, counts) for i in range(n)]


def test_three_classes_balanced_disjoint_deterministic(tmp_path):
    path = write_jsonl(tmp_path / "three.jsonl", three_class_rows())
    config = TrainConfig(dataset=path, train_size=31, eval_size=12, seed=3)
    s = load_splits(config)
    assert s.label_names == ("negative", "neutral", "positive")
    assert s.class_counts("train") == {"negative": 10, "neutral": 10, "positive": 11}
    assert s.class_counts("eval") == {"negative": 4, "neutral": 4, "positive": 4}
    assert not set(s.train_texts) & set(s.eval_texts)
    for text, label in zip(s.train_texts + s.eval_texts, s.train_labels + s.eval_labels):
        assert text.startswith(s.label_names[label])
    assert s.source.endswith("31/12 balanced") and s.warnings == []
    assert load_splits(config) == s
    bigger = load_splits(config.replace(train_size=50))
    assert bigger.eval_texts == s.eval_texts and set(s.train_texts) <= set(bigger.train_texts)


def test_short_class_gives_stratified_splits_and_one_warning(tmp_path):
    path = write_jsonl(tmp_path / "skew.jsonl", three_class_rows((60, 10, 30)))
    s = load_splits(TrainConfig(dataset=path, train_size=50, eval_size=30, seed=1))
    assert s.class_counts("eval") == {"negative": 18, "neutral": 3, "positive": 9}
    assert sum(s.class_counts("train").values()) == 50
    assert s.class_counts("train")["neutral"] == 5
    [warning] = s.warnings
    assert "skew.jsonl" in warning and "neutral (10 of 27)" in warning
    assert "negative" not in warning and s.source.endswith("stratified")
    quiet = load_splits(TrainConfig(dataset=path, train_size=50, eval_size=30, seed=1,
                                    balance=False))
    assert quiet.warnings == [] and quiet.eval_texts == s.eval_texts


def test_balance_false_keeps_proportions_even_when_balance_is_possible(tmp_path):
    path = write_jsonl(tmp_path / "skew.jsonl", three_class_rows((60, 20, 20)))
    s = load_splits(TrainConfig(dataset=path, train_size=20, eval_size=10, balance=False))
    assert s.class_counts("eval") == {"negative": 6, "neutral": 2, "positive": 2}
    assert s.class_counts("train") == {"negative": 12, "neutral": 4, "positive": 4}


def test_class_with_one_example_is_an_error_naming_it(tmp_path):
    rows = three_class_rows((10, 1, 10))
    path = write_jsonl(tmp_path / "lonely.jsonl", rows)
    with pytest.raises(DataError, match=r"lonely.jsonl: fewer than 2 reviews of class neutral \(1\)"):
        load_splits(TrainConfig(dataset=path, train_size=6, eval_size=4))
    with pytest.raises(DataError, match=r"neutral \(1\), c \(0\)"):  # a given class the data lacks
        load_splits(TrainConfig(dataset=path, train_size=6, eval_size=4,
                                labels=["negative", "neutral", "positive", "c"]))


def test_given_labels_reject_file_values(tmp_path):
    path = write_jsonl(tmp_path / "three.jsonl", three_class_rows())
    with pytest.raises(DataError, match=r"three.jsonl: label value 'neutral' not among .*"
                                        r"column 'label'"):
        load_splits(TrainConfig(dataset=path, labels=["negative", "positive"]))


def test_star_ratings_from_csv(tmp_path):
    import pandas as pd

    rows = [{"text": f"{stars} stars {i}", "label": stars} for stars in range(1, 6)
            for i in range(8)]
    path = tmp_path / "stars.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    s = load_splits(TrainConfig(dataset=str(path), train_size=20, eval_size=10))
    assert s.label_names == ("1", "2", "3", "4", "5")
    for text, label in zip(s.train_texts, s.train_labels):
        assert text.startswith(s.label_names[label])


def test_hub_class_label_with_three_names(monkeypatch):
    import datasets

    rows = [{"text": f"r{k} {i}", "label": k} for k in range(3) for i in range(6)]
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["pos", "neg", "neutral"])})
    fake = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows, features=features)})
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake)
    s = load_splits(TrainConfig(dataset="x/three", train_size=6, eval_size=6))
    assert s.label_names == ("negative", "neutral", "positive")
    hub_name = {0: "positive", 1: "negative", 2: "neutral"}
    for text, label in zip(s.train_texts, s.train_labels):
        assert s.label_names[label] == hub_name[int(text[1])]


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(2, 30), min_size=3, max_size=5),
       train=st.integers(1, 40), eval_=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       balance=st.booleans())
def test_multiclass_sampler_properties(counts, train, eval_, seed, balance):
    labels = np.repeat(np.arange(len(counts)), counts)
    names = tuple(f"c{k}" for k in range(len(counts)))
    if train + eval_ > labels.size:
        with pytest.raises(DataError, match="exceed"):
            sample_indices(labels, names, train, eval_, seed, "prop", balance)
        return
    drawn = sample_indices(labels, names, train, eval_, seed, "prop", balance)
    assert (len(drawn.train), len(drawn.eval)) == (train, eval_)
    assert not set(drawn.train.tolist()) & set(drawn.eval.tolist())
    again = sample_indices(labels, names, train, eval_, seed, "prop", balance)
    assert again.train.tolist() == drawn.train.tolist()
    for idx, n in ((drawn.train, train), (drawn.eval, eval_)):
        per_class = np.bincount(labels[idx], minlength=len(counts))
        if drawn.balanced:
            assert per_class.max() - per_class.min() <= 1
        elif n >= len(counts) and train + eval_ <= labels.size - len(counts):
            assert per_class.min() >= 1  # every class in each split where it fits


def test_stratified_sizes_keep_proportions():
    assert stratified_sizes(10, [50, 30, 20], [50, 30, 20]) == [5, 3, 2]
    assert stratified_sizes(7, [50, 30, 20], [50, 30, 20]) == [4, 2, 1]
    assert stratified_sizes(10, [97, 2, 1], [97, 2, 1]) == [8, 1, 1]  # every class kept
    assert stratified_sizes(200, [97, 2, 1], [96, 1, 0]) == [96, 1, 0]
