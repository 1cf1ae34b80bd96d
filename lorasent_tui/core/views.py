"""Texts longer than the model's window, read as several views whose verdicts are averaged.

A classifier reads at most ``max_length`` tokens. The cut view (head+tail by default) keeps a
review's opening and its verdict but drops the middle, where long reviews often argue their
case. With sliding windows, a long text is read as windows that cover all of it, and its class
log-probabilities are a weighted mean over its views. Two layouts (TrainConfig.window_layout):

- ``cover``: the fewest windows that cover the text, spread evenly from its start to its end,
  equal weights. A 300-token review is two windows; 1,000 reviews of IMDb validation are 1,720
  views of at most 256 tokens.
- ``overlap`` (runs saved before ``cover``): the cut view with half the weight, and windows half
  a window apart sharing the other half: 2,620 views for the same reviews, about half again as
  much evaluation, for the same accuracy (bench/results/view_schemes_before_seed42.json:
  0.880 against 0.879 on the fast preset's seed-42 run, AUC 0.945 against 0.947).

The model itself is unchanged (a standard transformers classifier); only how it reads long texts
at evaluation and prediction differs. On IMDb with the bundled MiniLM windows added about 1.5
points of validation accuracy over the cut view alone (see the README).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from lorasent_tui.core.batching import special_token_template, tokenize_whole, truncate_ids


@dataclass
class Views:
    """Every view of a list of texts, with special tokens, and the text each belongs to."""

    ids: list[list[int]]
    owner: list[int]
    weight: list[float]  # each text's weights sum to 1
    count: int  # how many texts

    def single(self) -> bool:
        return len(self.ids) == self.count


def texts_scored(views_done: int, views: int, texts: int) -> int:
    """Progress in texts (what the user asked for) when ``views_done`` of ``views`` are scored:
    views (windows of long texts) advance it evenly, and all views done is every text."""
    return texts if views_done == views else views_done * texts // max(1, views)


# A pasted book would otherwise be read as thousands of windows. Up to 16 half-overlapping
# windows cover 2,159 tokens (with 254-token windows), beyond the longest IMDb review (about 1,600);
# longer texts get 16 windows spread evenly, which still cover them up to 16 windows' length.
MAX_WINDOWS = 16


def window_starts(length: int, size: int, stride: int, limit: int = MAX_WINDOWS) -> list[int]:
    """Window offsets covering ``length`` tokens; the last window ends at the text's end."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, max(1, stride)))
    if starts[-1] != length - size:
        starts.append(length - size)
    if len(starts) > limit:
        last = length - size
        starts = [round(i * last / (limit - 1)) for i in range(limit)]
    return starts


def cover_starts(length: int, size: int, limit: int = MAX_WINDOWS) -> list[int]:
    """Offsets of the fewest windows covering ``length`` tokens, spread evenly from start to end."""
    if length <= size:
        return [0]
    count = min(limit, math.ceil(length / size))
    last = length - size
    return [round(i * last / (count - 1)) for i in range(count)]


def views_of(ids: list[int], budget: int, truncation: str, layout: str | None) -> list[list[int]]:
    """The token views of one text (without special tokens): the cut text when it fits or when
    ``layout`` is None (no sliding windows), else the windows of that layout (see the module)."""
    if layout is None or len(ids) <= budget:
        return [truncate_ids(ids, budget, truncation)]
    if layout == "cover":
        return [ids[s:s + budget] for s in cover_starts(len(ids), budget)]
    windows = [ids[s:s + budget] for s in window_starts(len(ids), budget, budget // 2)]
    return [truncate_ids(ids, budget, truncation), *windows]


def window_layout(config: Any) -> str | None:
    """How a run reads texts longer than its window: its layout, or None for the cut alone."""
    return config.window_layout if config.sliding_windows else None


def encode_views(tokenizer: Any, texts: Sequence[str], max_length: int, truncation: str,
                 layout: str | None) -> Views:
    prefix, suffix = special_token_template(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    encoded: list[list[int]] = []
    owner: list[int] = []
    weight: list[float] = []
    for index, ids in enumerate(tokenize_whole(tokenizer, texts)):
        views = views_of(ids, budget, truncation, layout)
        encoded.extend(prefix + view + suffix for view in views)
        owner.extend([index] * len(views))
        weight.extend(view_weights(len(views), layout))
    return Views(encoded, owner, weight, len(texts))


def view_weights(count: int, layout: str | None) -> list[float]:
    """Equal weights (cover); overlap: half for the cut view, the other half shared by the windows."""
    if count == 1:
        return [1.0]
    if layout == "cover":
        return [1.0 / count] * count
    return [0.5] + [0.5 / (count - 1)] * (count - 1)


def combine_log_probs(logits: Any, views: Views) -> Any:
    """Per-text class log-probabilities: the weighted mean of its views' log-probabilities, renormalised."""
    import torch

    log_probs = torch.log_softmax(logits.float(), dim=-1)
    if views.single():
        return log_probs  # one view per text, in order
    index = torch.as_tensor(views.owner, dtype=torch.long, device=log_probs.device)
    weights = torch.as_tensor(views.weight, dtype=log_probs.dtype, device=log_probs.device).unsqueeze(1)
    summed = torch.zeros((views.count, log_probs.shape[-1]), dtype=log_probs.dtype, device=log_probs.device)
    return torch.log_softmax(summed.index_add_(0, index, log_probs * weights), dim=-1)
