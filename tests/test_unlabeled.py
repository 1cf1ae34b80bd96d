"""Self-training on unlabeled text: the pool's sources, the pseudo-label rule, resuming."""

from __future__ import annotations

import csv
import json
import signal
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from lorasent_tui.core.config import build_config
from lorasent_tui.core.data.unlabeled import UNLABELED_BUILTIN, unlabeled_pool
from lorasent_tui.core.errors import ConfigError, DataError
from lorasent_tui.core.pseudo_labels import PseudoLabels, class_quotas, select

TEXTS = [f"review number {i} says {'great' if i % 2 else 'dreadful'}" for i in range(30)]


def pool_config(source, **extra):
    return SimpleNamespace(unlabeled=str(source), unlabeled_size=extra.get("size", 1000),
                           text_column="text", seed=extra.get("seed", 1))


def no_splits(*texts):
    return SimpleNamespace(train_texts=list(texts), eval_texts=[], test_texts=[], label_names=("negative", "positive"))


def write(path, texts, with_labels=False):
    rows = [{"text": t, **({"label": i % 2} if with_labels else {})} for i, t in enumerate(texts)]
    suffix = path.suffix
    if suffix in (".csv", ".tsv"):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t" if suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
@pytest.mark.parametrize("with_labels", [False, True])
def test_every_file_format_gives_its_texts(tmp_path, suffix, with_labels):
    path = write(tmp_path / f"pool{suffix}", TEXTS + TEXTS[:5] + ["  "], with_labels)
    pool = unlabeled_pool(pool_config(path), no_splits())
    assert sorted(pool) == sorted(TEXTS)  # duplicates and empty texts dropped, labels ignored


def test_the_pool_is_seeded_capped_and_without_split_texts(tmp_path):
    path = write(tmp_path / "pool.csv", TEXTS)
    splits = no_splits(*TEXTS[:4])
    splits.eval_texts = [TEXTS[4] + "  "]
    splits.test_texts = [TEXTS[5]]
    pool = unlabeled_pool(pool_config(path, size=10), splits)
    assert len(pool) == 10 and not set(pool) & set(TEXTS[:6])
    assert pool == unlabeled_pool(pool_config(path, size=10), splits)
    assert pool != unlabeled_pool(pool_config(path, size=10, seed=2), splits)


def test_the_builtin_source_excludes_every_text_of_the_runs_splits():
    from lorasent_tui.core.data import load_splits

    config = build_config({"train_size": 1000, "eval_size": 1000, "test_size": 500, "seed": 42,
                           "unlabeled": UNLABELED_BUILTIN, "unlabeled_size": 10_000_000})
    splits = load_splits(config)
    pool = unlabeled_pool(config, splits)
    used = {t.strip() for t in splits.train_texts + splits.eval_texts + splits.test_texts}
    assert len(splits.test_texts) == 500
    assert len(pool) > 20_000
    assert not {t.strip() for t in pool} & used


def test_unlabeled_copies_of_validation_texts_never_reach_validation(tmp_path):
    from lorasent_tui.core.data import load_splits

    data = tmp_path / "data.csv"
    write(data, TEXTS, with_labels=True)
    pool_file = write(tmp_path / "pool.jsonl", TEXTS + ["an unseen review"])
    config = build_config({"dataset": str(data), "train_size": 10, "eval_size": 10,
                           "unlabeled": str(pool_file)})
    splits = load_splits(config)
    pool = unlabeled_pool(config, splits)
    assert not set(pool) & set(splits.eval_texts)
    assert not set(pool) & set(splits.train_texts)
    assert "an unseen review" in pool


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("", "the file is empty"),
    ("body,label\nhello,1\n", "no column 'text'"),
    ("text\n\n", "the file has no rows"),
    ("text\n\"  \"\n", "no unlabeled texts left"),
])
def test_bad_unlabeled_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "pool.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        unlabeled_pool(pool_config(path), no_splits())
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_cli_exits_2_on_a_bad_unlabeled_file_or_setting(tmp_path, capsys):
    from lorasent_tui.cli import main

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["train", "--runs-dir", str(tmp_path), "--train-size", "8", "--eval-size", "8",
                     "--unlabeled", str(tmp_path / "missing.csv")])
        assert code == 2
        assert "missing.csv: no such file" in capsys.readouterr().err
        assert main(["train", "--runs-dir", str(tmp_path), "--pseudo-threshold", "1.5"]) == 2
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert not list(tmp_path.iterdir())  # failed before a run folder was created


def test_settings_are_checked_per_field():
    with pytest.raises(ConfigError) as info:
        build_config({"unlabeled_size": 0, "pseudo_threshold": 1, "unlabeled_weight": -1})
    assert set(info.value.field_errors) == {"unlabeled_size", "pseudo_threshold", "unlabeled_weight"}
    assert build_config({"unlabeled": ""}).unlabeled is None
    assert build_config({"unlabeled": " imdb-unlabeled "}).unlabeled == UNLABELED_BUILTIN


def test_class_balance_keeps_the_labelled_proportions_of_what_every_class_can_give():
    assert class_quotas([50, 7], [500, 500]) == [7, 7]  # balanced labels: the rarest class's count
    assert class_quotas([50, 7], [750, 250]) == [21, 7]  # 3:1 labels, 3:1 pseudo-labels
    assert class_quotas([50, 0, 9], [1, 1, 1]) == [0, 0, 0]  # a class without confident texts
    assert class_quotas([4, 9], [0, 10]) == [0, 9]  # a class the train split lacks gets none


def test_selection_takes_the_most_confident_above_the_threshold_per_class():
    probs = np.array([[0.95, 0.05], [0.2, 0.8], [0.99, 0.01], [0.05, 0.95], [0.91, 0.09],
                      [0.5, 0.5], [0.03, 0.97]])
    chosen = select(probs, 0.9, [10, 10])
    # confident: negative 0, 2, 4; positive 3, 6 (1 is below 0.9): two of each, the most confident
    assert chosen.index == [0, 2, 3, 6] and chosen.labels == [0, 0, 1, 1]
    assert select(probs, 0.999, [10, 10]).index == []


class SignalModel:
    """A 'model' whose verdict is a planted token: positive when the text has 'great'."""

    def __init__(self, token_id):
        import torch

        self.token_id = token_id
        self.calls = 0
        self.torch = torch
        self.config = SimpleNamespace(_attn_implementation="sdpa")

    def modules(self):
        return []

    def eval(self):
        return self

    def __call__(self, input_ids, attention_mask):
        self.calls += 1
        has = (input_ids == self.token_id).any(dim=1).float()
        margin = 3.0 * (2 * has - 1) * (1 + 0.01 * attention_mask.sum(dim=1))
        return SimpleNamespace(logits=self.torch.stack([-margin, margin], dim=1))


def signal_session(texts, class_counts, threshold=0.9):
    import torch

    from lorasent_tui.core.models import load_tokenizer
    from lorasent_tui.core.views import encode_views

    tokenizer = load_tokenizer("minilm")
    token_id = tokenizer.convert_tokens_to_ids("great")
    cfg = build_config({"unlabeled": "x.csv", "pseudo_threshold": threshold, "eval_batch_size": 4,
                        "epochs": 3, "precision": "fp32"})
    run = SimpleNamespace(run_id="r", stop_file=SimpleNamespace(exists=lambda: False))
    return SimpleNamespace(
        config=cfg, model=SignalModel(token_id), tokenizer=tokenizer, prefix=None, pad_multiple=1,
        scoring_attention="sdpa",
        device=torch.device("cpu"), precision="fp32", run=run, label_names=("negative", "positive"),
        class_counts=class_counts, pseudo=PseudoLabels(), train_ids=[], eval_ids=[],
        unlabeled_views=encode_views(tokenizer, texts, 64, "head_tail", None),
        stop_requested=lambda stop: stop.is_set(), labelling_progress=lambda *where: where)


def test_pseudo_labels_follow_the_planted_signal_through_the_batched_scoring():
    from lorasent_tui.core.events import TrainCallbacks
    from lorasent_tui.core.pseudo_labels import record, relabel

    texts = [f"a {'great' if i % 3 == 0 else 'dull'} film, take {i}" + " long" * (i % 5) for i in range(30)]
    session = signal_session(texts, [8, 8])
    assert relabel(session, 1, TrainCallbacks(), threading.Event())
    chosen = session.pseudo
    assert session.model.calls == -(-30 // 4)  # batched: eval_batch_size texts per call
    assert chosen.labels == [1 if "great" in texts[i] else 0 for i in chosen.index]
    assert record(chosen, session.label_names)["pseudo_counts"] == {"negative": 10, "positive": 10}
    # balanced: all 10 'great' texts, and the 10 most confident (longest) 'dull' ones
    assert len(chosen.index) == 20
    session.class_counts = [3, 1]  # a 3:1 labelled prior keeps 3:1 pseudo-labels
    relabel(session, 1, TrainCallbacks(), threading.Event())
    assert record(session.pseudo, session.label_names)["pseudo_counts"] == {"negative": 20, "positive": 6}


def test_a_stop_during_pseudo_labelling_keeps_the_selection():
    from lorasent_tui.core.events import TrainCallbacks
    from lorasent_tui.core.pseudo_labels import relabel

    session = signal_session(["a great film", "a dull film"] * 6, [1, 1])
    session.pseudo = PseudoLabels([1], [0])
    stop = threading.Event()
    stop.set()
    assert not relabel(session, 1, TrainCallbacks(), stop)
    assert session.pseudo.index == [1]
    assert relabel(session, 3, TrainCallbacks(), stop)  # none after the last epoch


def test_pseudo_batches_are_seeded_and_cover_the_selection():
    from lorasent_tui.core.pseudo_labels import pseudo_batches

    batches = pseudo_batches(5, 4, 8, seed=1, epoch=2)
    assert len(batches) == 4 and all(sorted(b) == list(range(5)) for b in batches)
    assert pseudo_batches(20, 3, 8, 1, 2) == pseudo_batches(20, 3, 8, 1, 2)
    assert pseudo_batches(20, 3, 8, 1, 2) != pseudo_batches(20, 3, 8, 1, 3)
    assert pseudo_batches(0, 3, 8, 1, 2) == []


def test_noised_copies_keep_the_special_tokens_and_a_seeded_ordered_crop():
    from lorasent_tui.core.pseudo_labels import MIN_CROP, noised_positions

    copies = [noised_positions(100, 0.15, np.random.default_rng([1, step])) for step in range(200)]
    for kept in copies:
        assert kept[0] == 0 and kept[-1] == 99 and kept == sorted(set(kept))
    inner = np.array([len(k) - 2 for k in copies])
    # a crop of 49-98 tokens (mean about 73), then 15% dropped
    assert 0.85 * 98 * MIN_CROP * 0.9 < inner.mean() < 0.85 * 98 * (1 + MIN_CROP) / 2 * 1.1
    assert len({tuple(k) for k in copies}) == len(copies)
    assert noised_positions(100, 0.15, np.random.default_rng([1, 7])) == copies[7]
    crop = noised_positions(100, 0.0, np.random.default_rng(3))[1:-1]
    assert crop == list(range(crop[0], crop[-1] + 1)) and len(crop) >= 98 * MIN_CROP  # contiguous
    assert noised_positions(2, 0.5, np.random.default_rng(0)) == [0, 1]
    assert len(noised_positions(3, 0.99, np.random.default_rng(0))) == 3  # never an empty text


def test_the_model_trains_on_noised_copies_of_pseudo_labelled_texts():
    from lorasent_tui.core.pseudo_labels import pseudo_loss

    texts = [f"a great film, take {i}" + " and more words" * 8 for i in range(6)]
    seen = []

    class Recording(SignalModel):
        training = True

        def __call__(self, input_ids, attention_mask):
            seen.append([row[mask.bool()].tolist() for row, mask in zip(input_ids, attention_mask)])
            return super().__call__(input_ids, attention_mask)

    session = signal_session(texts, [1, 1])
    session.model = Recording(session.model.token_id)
    session.pseudo = PseudoLabels(list(range(6)), [1] * 6)
    session.global_step = 4
    originals = [session.unlabeled_views.ids[i] for i in range(6)]
    for noise in (0.0, 0.0, 0.3, 0.3):
        session.config = session.config.replace(pseudo_noise=noise, precision="fp32")
        pseudo_loss(session, list(range(6)))
    clean, clean_again, noised, noised_again = seen
    assert clean == clean_again == originals  # pseudo_noise 0: the very texts the teacher scored
    assert noised == noised_again  # seeded by the run's seed and step
    assert all(len(n) < len(o) and n[0] == o[0] and n[-1] == o[-1] for n, o in zip(noised, originals))
    session.global_step = 5
    pseudo_loss(session, list(range(6)))
    assert seen[-1] != noised


def rank_select(probs, threshold, prior):
    """The tiny random model predicts one class for everything, so the real rule would keep no
    pseudo-labels; this one still follows its scores: the top quarter positive, the bottom negative."""
    order = np.argsort(np.asarray(probs)[:, 1], kind="stable")
    quarter = len(order) // 4
    chosen = sorted([(int(i), 0) for i in order[:quarter]] + [(int(i), 1) for i in order[-quarter:]])
    return PseudoLabels([i for i, _ in chosen], [k for _, k in chosen])


def test_a_run_stopped_mid_epoch_resumes_with_the_same_pseudo_labels(tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core import pseudo_labels
    from lorasent_tui.core.events import RunFinished, TrainCallbacks
    from lorasent_tui.core.store import RunStore
    from lorasent_tui.core.trainer import train
    from tests.test_resume import adapter_tensors, assert_same_rows, assert_same_tensors, tiny_config

    monkeypatch.setattr(pseudo_labels, "select", rank_select)
    # Two epochs: the second trains on the pseudo-labels chosen after the first, which the
    # checkpoint of epoch 1 must carry over to the resumed run.
    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=24, epochs=2)
    whole = train(config, runs_dir=tmp_path / "whole")
    assert isinstance(whole, RunFinished) and whole.state == "completed", whole
    expected = RunStore(tmp_path / "whole").get(whole.run_id)
    rows = expected.metrics()
    assert [r["pseudo_labels"] for r in rows] == [0, 12]
    card = (expected.path / "README.md").read_text(encoding="utf-8")
    assert "self-trained on up to 24 unlabeled texts from `imdb-unlabeled`" in card
    assert "15% of its tokens then dropped" in card

    stop = threading.Event()

    def on_progress(event):  # a stop in the middle of epoch 2 (3 steps each): its records are not written
        if event.epoch == 2 and event.phase == "train" and event.step == 5:
            stop.set()

    first = train(config, runs_dir=tmp_path / "cut", stop_event=stop,
                  callbacks=TrainCallbacks(on_progress=on_progress))
    assert first.state == "stopped"
    run = RunStore(tmp_path / "cut").get(first.run_id)
    assert [r["epoch"] for r in run.metrics()] == [1]
    resumed = train(config, runs_dir=tmp_path / "cut", resume=first.run_id)
    assert resumed.state == "completed", resumed
    assert_same_rows(run.metrics(), rows)
    assert_same_tensors(adapter_tensors(run.path), adapter_tensors(expected.path))


def test_each_step_trains_on_unlabeled_ratio_times_the_labelled_batch(tiny_model_dir, tmp_path, monkeypatch):
    from lorasent_tui.core import pseudo_labels, trainer
    from tests.test_resume import tiny_config

    monkeypatch.setattr(pseudo_labels, "select", rank_select)
    widths = []
    real_loss = trainer.pseudo_loss

    def recording_loss(session, positions):
        widths.append(len(positions))
        return real_loss(session, positions)

    monkeypatch.setattr(trainer, "pseudo_loss", recording_loss)
    config = tiny_config(tiny_model_dir("bert"), unlabeled=UNLABELED_BUILTIN, unlabeled_size=40,
                         epochs=2, unlabeled_ratio=2)
    finished = trainer.train(config, runs_dir=tmp_path)
    assert finished.state == "completed", finished
    assert widths and set(widths) == {2 * config.batch_size}  # 20 pseudo-labels, 16 a step


def test_the_benchs_held_out_sets_exclude_what_runs_see_and_short_reviews_are_last_sentences():
    from bench.short_reviews import held_out
    from lorasent_tui.core.short_crops import MAX_WORDS, MIN_WORDS, last_sentence

    assert last_sentence("Long opening.<br /><br />All in all a fine film, see it!") == \
        "All in all a fine film, see it!"
    assert last_sentence("One sentence only, however long it is.") is None
    assert last_sentence("Opening here. Too short.") is None
    first, _ = held_out(set(), 5, 0)
    unseen, shorts = held_out({first[0][0].strip()}, 5, 20)
    assert first[0] not in unseen and unseen[:4] == first[1:]
    assert len(shorts) == 20 and all(MIN_WORDS <= len(t.split()) <= MAX_WORDS for t, _ in shorts)
    assert {label for _, label in shorts} == {0, 1}


def test_the_cli_self_trains_through_the_frozen_layer_cache_and_prints_pseudo_labels(
        tiny_model_dir, tmp_path, monkeypatch, capsys):
    from lorasent_tui.cli import main
    from lorasent_tui.core import pseudo_labels
    from lorasent_tui.core import session as session_module

    monkeypatch.setattr(pseudo_labels, "select", rank_select)
    cached = []
    real_cache = session_module.cache_frozen_layers

    def cache(session, callbacks):
        real_cache(session, callbacks)
        cached.append(len(session.unlabeled_states))

    monkeypatch.setattr("lorasent_tui.core.trainer.cache_frozen_layers", cache)
    pool = write(tmp_path / "pool.jsonl", TEXTS)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["train", "--runs-dir", str(tmp_path / "runs"), "--model", str(tiny_model_dir("bert")),
                     "--train-size", "16", "--eval-size", "8", "--epochs", "2", "--max-length", "32",
                     "--batch-size", "8", "--device", "cpu", "--lora-layers", "1",
                     "--unlabeled", str(pool), "--unlabeled-weight", "0.5"])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    assert code == 0, err
    assert cached == [30]  # the pool's frozen layers were cached with the splits'
    assert "[epoch 1: 0 pseudo-labels" in err and "[epoch 2: 14 pseudo-labels (7 negative / 7 positive)]" in err
