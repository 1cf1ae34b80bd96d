"""Attention for bf16 training steps on CPUs: transformers' eager attention, kept in bf16.

Under autocast, eager attention's scores come out of the matrix product in bf16, but adding the
fp32 padding mask promotes the whole batch x heads x length x length tensor to fp32: the softmax
and its backward then run in fp32 and the probabilities are cast back to bf16 for the product
with the values, one more full copy each way. Here the mask is cast to the scores' dtype first
(its large negative values survive: bf16 has fp32's exponent range), so all of it stays bf16.
PyTorch's fused attention (SDPA) would avoid the copies too, but its CPU backward is slower
(see core/session.py, training_attention).
"""

from __future__ import annotations

from typing import Any

NAME = "lorasent_bf16_eager"


def bf16_eager_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                         scaling: float | None = None, dropout: float = 0.0,
                         **kwargs: Any) -> tuple[Any, Any]:
    """transformers' eager attention (models/bert) with the mask in the scores' dtype."""
    import torch
    from torch.nn import functional as F

    if scaling is None:
        scaling = query.size(-1) ** -0.5
    # Scaling the query, not the scores, is an eighth of the work at 256 tokens and 32-wide
    # heads; the mask goes in place because the product's backward needs its inputs, not its output.
    scores = torch.matmul(query * scaling, key.transpose(2, 3))
    if attention_mask is not None:
        scores.add_(attention_mask.to(scores.dtype))
    weights = F.dropout(F.softmax(scores, dim=-1), p=dropout, training=module.training)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def register() -> str:
    """Make ``NAME`` an attention implementation models can switch to (it takes eager's mask)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(NAME, bf16_eager_attention)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["eager"])
    return NAME
