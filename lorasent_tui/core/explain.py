"""Why this label: the words that pushed a text towards, or away from, its predicted class.

Integrated gradients (captum) from a baseline where every word is the padding token ([CLS] and
[SEP] kept) to the text, on the word embeddings, with the predicted class's log-odds as the
output; a word's score is the sum over its word pieces (positive: towards the class). This is
what captum's LayerIntegratedGradients computes on the embedding layer, but it is run as plain
IntegratedGradients on ``inputs_embeds``: LayerIntegratedGradients hooks the model's embedding
layer while it works, and the same loaded model keeps serving predictions in other threads.

A long text is read as several views (``core/views``); one view is explained, the one most
confident in the predicted class, and the explanation says which part of the text that is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lorasent_tui.core.errors import LorasentError
from lorasent_tui.core.predict import KEPT_PART, clean_text

TOP_WORDS = 5
# Gauss-Legendre steps along the path (captum's default is 50). On six IMDb reviews with a fast-preset
# run, 16 steps put the same words in the top 5 towards and away as 64 did (58 of 59); 8 steps,
# 51 of 59. The cost is linear in steps (bench/explain_latency.py).
N_STEPS = 16
INTERNAL_BATCH_SIZE = 8  # path points per forward/backward pass
CACHE_SIZE = 64  # explanations kept per explainer (per loaded model)


@dataclass(frozen=True)
class WordScore:
    word: str
    start: int  # character span in the text
    end: int
    score: float  # > 0: towards the explained class, < 0: away from it

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end, "score": round(self.score, 6)}


@dataclass(frozen=True)
class Explanation:
    text: str
    target: str  # the class the scores push towards (the predicted one unless asked otherwise)
    probability: float  # the model's probability of ``target`` for the whole text
    words: tuple[WordScore, ...]  # the explained words in text order
    part: str = ""  # which part of a long text was explained ("" the whole text)

    def top_for(self, k: int = TOP_WORDS) -> list[WordScore]:
        ranked = sorted((w for w in self._ranked_words() if w.score > 0), key=lambda w: -w.score)
        return ranked[:k]

    def top_against(self, k: int = TOP_WORDS) -> list[WordScore]:
        ranked = sorted((w for w in self._ranked_words() if w.score < 0), key=lambda w: w.score)
        return ranked[:k]

    def _ranked_words(self) -> list[WordScore]:
        """Words with a letter or digit: punctuation is scored and highlighted, but not ranked."""
        return [w for w in self.words if any(ch.isalnum() for ch in w.word)]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "probability": round(self.probability, 6), "part": self.part,
                "words": [w.to_dict() for w in self.words],
                "top_for": [w.to_dict() for w in self.top_for()],
                "top_against": [w.to_dict() for w in self.top_against()]}


def view_description(index: int, positions: list[int], tokens: int, views: int, truncation: str,
                     layout: str | None) -> str:
    """Which part of a ``tokens``-long text the view ``index`` (of ``views``, read with the
    views.window_layout ``layout``) holds, for people."""
    if layout != "cover":
        if index == 0:
            kept = KEPT_PART.get(truncation, truncation)
            return f"the cut keeping {kept} ({len(positions)} of {tokens:,} tokens)"
        index, views = index - 1, views - 1  # the windows come after the cut view
    return f"window {index + 1} of {views} (tokens {positions[0] + 1:,}–{positions[-1] + 1:,} of {tokens:,})"


# BERT's pre-tokenizer splits "don't" into don / ' / t and "well-made" into three: to a reader,
# one of these characters between two letters or digits joins them into one word.
JOINERS = "'’-"


def joins(text: str, index: int) -> bool:
    return (0 < index < len(text) - 1 and text[index] in JOINERS
            and text[index - 1].isalnum() and text[index + 1].isalnum())


def joined(text: str, spans: list[list[Any]]) -> list[list[Any]]:
    """[start, end, score] spans in text order, the pieces of a word like "don't" merged."""
    words: list[list[Any]] = []
    for start, end, score in spans:
        previous = words[-1] if words else None
        if previous and previous[1] == start and (joins(text, start) or joins(text, start - 1)):
            previous[1], previous[2] = end, previous[2] + score
        else:
            words.append([start, end, score])
    return words


class Explainer:
    """Explains a torch Predictor's verdicts (``core.predict.Predictor`` with a ``model``).

    ``explain`` is thread-safe, slow (integrated gradients: seconds for a long text on a CPU)
    and cached per (text, target).
    """

    def __init__(self, predictor: Any, n_steps: int = N_STEPS, internal_batch_size: int = INTERNAL_BATCH_SIZE,
                 cache_size: int = CACHE_SIZE):
        if predictor.model is None:
            raise LorasentError("explanations need the model in torch (not its ONNX export)")
        if not getattr(predictor.tokenizer, "is_fast", False):
            raise LorasentError(f"explanations need a fast tokenizer; {predictor.config.model} has none")
        self.predictor = predictor
        self.n_steps = n_steps
        self.internal_batch_size = internal_batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str | None], Explanation] = OrderedDict()
        self._lock = threading.Lock()

    def explain(self, text: str, target: str | None = None) -> Explanation:
        """Word scores towards ``target`` (a class name; default: the predicted class)."""
        key = (text, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        explanation = self._compute(text, target)
        with self._lock:
            self._cache[key] = explanation
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return explanation

    def _compute(self, text: str, target: str | None) -> Explanation:
        from lorasent_tui.core.batching import special_token_template
        from lorasent_tui.core.views import views_of, window_layout

        predictor, cfg = self.predictor, self.predictor.config
        (verdict,) = predictor.predict([text])
        target = target or verdict.label
        if target not in predictor.label_names:
            raise LorasentError(f"no class {target!r}: the classes are {', '.join(predictor.label_names)}")
        cleaned = clean_text(text)  # same length as ``text``: spans index both
        encoded = predictor.tokenizer(cleaned, add_special_tokens=False, truncation=False,
                                      return_offsets_mapping=True, verbose=False)
        ids, offsets, word_ids = encoded["input_ids"], encoded["offset_mapping"], encoded.word_ids()
        if not ids:
            return Explanation(text, target, verdict.scores.get(target, 0.0), ())
        prefix, suffix = special_token_template(predictor.tokenizer)
        budget = cfg.max_length - len(prefix) - len(suffix)
        layout = window_layout(cfg)
        views = views_of(list(range(len(ids))), budget, cfg.truncation, layout)
        class_index = predictor.label_names.index(target)
        chosen = self._most_confident(views, ids, prefix, suffix, class_index) if len(views) > 1 else 0
        positions = views[chosen]
        part = "" if len(ids) <= budget else \
            view_description(chosen, positions, len(ids), len(views), cfg.truncation, layout)
        scores = self._token_scores([ids[p] for p in positions], prefix, suffix, class_index)
        pieces: dict[int, list[Any]] = {}  # the tokenizer's word index -> [start, end, score]
        for position, score in zip(positions, scores):
            start, end = offsets[position]
            piece = pieces.setdefault(word_ids[position], [start, end, 0.0])
            piece[0], piece[1], piece[2] = min(piece[0], start), max(piece[1], end), piece[2] + score
        words = tuple(WordScore(text[s:e], s, e, score) for s, e, score in joined(text, sorted(pieces.values())))
        return Explanation(text, target, verdict.scores.get(target, 0.0), words, part)

    def _forward(self, embeds: Any) -> Any:
        """Each class's log-odds against the others, for a batch of embedded sequences (no padding).

        Log-odds, not probabilities: a confident model's probability is flat near 1, so its
        gradients (and the attributions) would vanish; log-odds keep growing with the evidence.
        """
        import torch

        from lorasent_tui.core.precision import autocast

        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        with autocast(self.predictor.precision, self.predictor.device):
            logits = self.predictor.model(inputs_embeds=embeds, attention_mask=mask).logits.float()
        classes = logits.shape[-1]
        others = logits.unsqueeze(1).expand(-1, classes, -1).masked_fill(
            torch.eye(classes, dtype=torch.bool, device=logits.device), float("-inf"))
        return logits - torch.logsumexp(others, dim=-1)

    def _embed(self, sequences: list[list[int]]) -> Any:
        import torch

        ids = torch.tensor(sequences, dtype=torch.long, device=self.predictor.device)
        return self.predictor.model.get_input_embeddings()(ids).detach()

    def _most_confident(self, views: list[list[int]], ids: list[int], prefix: list[int], suffix: list[int],
                        class_index: int) -> int:
        """The view whose own verdict gives the class the highest probability (views are equally long)."""
        import torch

        with torch.inference_mode():
            log_odds = self._forward(self._embed([prefix + [ids[p] for p in v] + suffix for v in views]))
        return int(log_odds[:, class_index].argmax())

    def _token_scores(self, view_ids: list[int], prefix: list[int], suffix: list[int],
                      class_index: int) -> list[float]:
        import torch
        from captum.attr import IntegratedGradients

        pad = self.predictor.tokenizer.pad_token_id
        baseline_id = pad if pad is not None else self.predictor.tokenizer.mask_token_id
        inputs = self._embed([prefix + view_ids + suffix])
        baseline = self._embed([prefix + [baseline_id] * len(view_ids) + suffix])
        with torch.enable_grad():
            attributions = IntegratedGradients(self._forward).attribute(
                inputs, baselines=baseline, target=class_index, n_steps=self.n_steps,
                internal_batch_size=self.internal_batch_size)
        per_token = attributions.float().sum(dim=-1)[0, len(prefix):len(prefix) + len(view_ids)]
        return per_token.tolist()
