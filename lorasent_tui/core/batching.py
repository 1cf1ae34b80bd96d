"""Tokenize once, then build padded batches: length-bucketed for training, sorted for inference."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

# Chunk of texts the tokenizer sees at once: bounds memory for very long inputs.
_ENCODE_CHUNK = 256
# A 10 MB review is cut to this many characters before tokenizing: far beyond any model's
# window, and keeping both ends lets head+tail truncation still see the verdict.
_MAX_CHARS = 200_000


def _clip_chars(text: str) -> str:
    if len(text) <= _MAX_CHARS:
        return text
    half = _MAX_CHARS // 2
    return text[:half] + " " + text[-half:]


def truncate_ids(ids: list[int], budget: int, side: str) -> list[int]:
    """Cut token ids to ``budget``: keep the end (left), the start (right) or both (head_tail)."""
    if len(ids) <= budget:
        return ids
    if side == "left":
        return ids[len(ids) - budget:]
    if side == "right":
        return ids[:budget]
    # Head+tail (Sun et al., 2019): a review's opening and its verdict at the end both matter.
    head = budget // 4
    return ids[:head] + ids[len(ids) - (budget - head):]


def special_token_template(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] / [SEP], <s> / </s>, …)."""
    plain = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return list(full[:start]), list(full[start + len(plain):])
    return [], []


def tokenize_whole(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text without special tokens or truncation (very long texts clipped first)."""
    raw: list[list[int]] = []
    for start in range(0, len(texts), _ENCODE_CHUNK):
        chunk = [_clip_chars(t) for t in texts[start:start + _ENCODE_CHUNK]]
        raw.extend(tokenizer(chunk, add_special_tokens=False, truncation=False, verbose=False)["input_ids"])
    return raw


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int, truncation: str) -> list[list[int]]:
    """Token ids with special tokens, each at most ``max_length`` long.

    Texts are tokenized whole and cut afterwards, so that head+tail truncation is possible.
    """
    prefix, suffix = special_token_template(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    return [prefix + truncate_ids(ids, budget, truncation) + suffix for ids in tokenize_whole(tokenizer, texts)]


def bucketed_batches(lengths: Sequence[int], batch_size: int, seed: int, bucketing: bool) -> list[list[int]]:
    """Shuffled batches of indices; with bucketing, each batch holds texts of similar length.

    Deterministic for ``seed`` so a resumed run sees the same batches as an uninterrupted one.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    if not bucketing:
        return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    lengths = np.asarray(lengths)
    window = batch_size * 32
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches of similar length, longest first, for inference (order is restored later)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def collate(sequences: Sequence[Sequence[int]], pad_id: int, pad_multiple: int = 1) -> dict[str, Any]:
    import torch

    width = max(len(s) for s in sequences)
    if pad_multiple > 1:
        width = -(-width // pad_multiple) * pad_multiple
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, :len(seq)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def iter_batches(encoded: Sequence[Sequence[int]], batches: list[list[int]], pad_id: int,
                 pad_multiple: int = 1) -> Iterator[tuple[list[int], dict[str, Any]]]:
    for index in batches:
        yield index, collate([encoded[i] for i in index], pad_id, pad_multiple)
