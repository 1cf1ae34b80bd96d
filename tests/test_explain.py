"""Why this label (core/explain.py, predict --explain) on tiny models built from a config."""

import json
import math
import random

import pytest

from lorasent_tui.cli import main
from lorasent_tui.core.config import build_config
from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.explain import Explainer, joined
from lorasent_tui.core.predict import Predictor
from lorasent_tui.core.store import RunStore

TRIGGER = "zebra"
FILLER = ("the film was long and the plot moved slowly through every scene while actors talked "
          "about music food weather cars trains rivers cities friends").split()


@pytest.fixture(scope="module")
def tiny_bert(tiny_model_dir):
    return tiny_model_dir("bert")


def tiny_config(folder, **settings):
    return build_config({"model": str(folder), "precision": "fp32", **settings})


def sentence(rng, trigger: bool, words: int = 10) -> str:
    """``words`` words, the trigger among them or not (same length: length must not give it away)."""
    tokens = [rng.choice(FILLER) for _ in range(words)]
    if trigger:
        tokens[rng.randrange(words)] = TRIGGER
    return " ".join(tokens)


@pytest.fixture(scope="module")
def trigger_predictor(tiny_bert):
    """A tiny classifier trained (seconds) so that one word, TRIGGER, decides "positive"."""
    import torch

    predictor = Predictor.from_base(tiny_config(tiny_bert, max_length=32))
    model, tokenizer = predictor.model, predictor.tokenizer
    rng = random.Random(0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _step in range(60):  # every held-out text right from step ~40 on, loss ~0.01 at 60
        labels = [rng.random() < 0.5 for _ in range(16)]
        batch = tokenizer([sentence(rng, label) for label in labels], padding=True, return_tensors="pt")
        loss = model(**batch, labels=torch.tensor(labels, dtype=torch.long)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    texts = [sentence(rng, True) for _ in range(10)] + [sentence(rng, False) for _ in range(10)]
    accuracy = sum((p.label == "positive") == (TRIGGER in p.text)
                   for p in predictor.predict(texts)) / len(texts)
    assert accuracy == 1.0, "the tiny model did not learn its trigger word"
    return predictor


def test_scores_are_finite_one_per_word_and_spans_match_the_text(tiny_bert):
    explainer = Explainer(Predictor.from_base(tiny_config(tiny_bert)))
    text = "Not a fan, don't recommend\tthis well-made film!"
    explanation = explainer.explain(text)
    words = [w.word for w in explanation.words]
    assert words == ["Not", "a", "fan", ",", "don't", "recommend", "this", "well-made", "film", "!"]
    for word in explanation.words:
        assert text[word.start:word.end] == word.word and math.isfinite(word.score)
    assert explanation.target in ("negative", "positive") and explanation.part == ""
    assert all(w.score > 0 for w in explanation.top_for())
    assert all(w.score < 0 for w in explanation.top_against())
    assert explainer.explain(text) is explanation  # cached


def test_three_classes_explain_the_predicted_one_and_any_other(tiny_bert):
    names = ["bad", "meh", "good"]
    predictor = Predictor.from_base(tiny_config(tiny_bert, labels=names))
    explainer = Explainer(predictor)
    text = "a meh film, good music"
    (verdict,) = predictor.predict([text])
    assert explainer.explain(text).target == verdict.label
    for name in names:
        explanation = explainer.explain(text, target=name)
        assert explanation.target == name and explanation.probability == pytest.approx(verdict.scores[name])
        assert len(explanation.words) == 6 and all(math.isfinite(w.score) for w in explanation.words)
    with pytest.raises(LorasentError, match="no class 'great'"):
        explainer.explain(text, target="great")


def test_joined_merges_only_pieces_inside_a_word():
    text = "don't 'thing'."
    pieces = [[0, 3, 1.0], [3, 4, 1.0], [4, 5, 1.0], [6, 7, 1.0], [7, 12, 1.0], [12, 13, 1.0], [13, 14, 1.0]]
    assert [text[s:e] for s, e, _ in joined(text, pieces)] == ["don't", "'", "thing", "'", "."]
    assert joined(text, pieces)[0][2] == 3.0  # the pieces' scores add up


def test_the_planted_trigger_word_pushes_hardest_towards_positive(trigger_predictor):
    explainer = Explainer(trigger_predictor)
    rng = random.Random(7)
    for _ in range(4):
        text = sentence(rng, True)
        explanation = explainer.explain(text)
        assert explanation.target == "positive"
        assert explanation.top_for()[0].word == TRIGGER, (text, explanation.top_for())
    # Towards "negative" instead, the trigger is the word that pushes hardest away.
    text = sentence(rng, True)
    assert explainer.explain(text, target="negative").top_against()[0].word == TRIGGER


def test_a_long_text_is_explained_on_its_most_telling_window(trigger_predictor):
    # 32-token views: the trigger sits in the middle, which only a sliding window reads.
    rng = random.Random(3)
    text = " ".join([sentence(rng, False, 30), TRIGGER, sentence(rng, False, 30)])
    explainer = Explainer(trigger_predictor)
    cut_only = Predictor(trigger_predictor.model, trigger_predictor.tokenizer,
                         build_config({**trigger_predictor.config.to_dict(), "sliding_windows": False}), "cut")
    assert Explainer(cut_only).explain(text, target="positive").part.startswith("the cut keeping")
    explanation = explainer.explain(text, target="positive")
    assert explanation.part.startswith("window ")
    assert explanation.top_for()[0].word == TRIGGER
    assert all(text[w.start:w.end] == w.word for w in explanation.words)
    assert len(explanation.words) < len(text.split())  # only the window's words


def test_predict_explain_json_shape(tiny_bert, tmp_path, capsys):
    RunStore(tmp_path).create(tiny_config(tiny_bert), run_id="tiny")
    args = ["predict", "--base", "--run", "tiny", "--runs-dir", str(tmp_path), "good film", "bad"]
    assert main(args + ["--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(args + ["--json", "--explain"]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert [{k: v for k, v in p.items() if k != "explanation"} for p in explained] == plain
    for prediction in explained:
        explanation = prediction["explanation"]
        assert explanation["target"] == prediction["label"]
        assert [w["word"] for w in explanation["words"]] == prediction["text"].split()
        assert set(explanation["words"][0]) == {"word", "start", "end", "score"}
        assert {w["word"] for w in explanation["top_for"] + explanation["top_against"]} <= \
            set(prediction["text"].split())
    assert main(args + ["--explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("good film") and lines[1].startswith("  towards ")
    assert lines[2].startswith("  away from it: ")
