"""Compute the frozen lower layers once and reuse their outputs across epochs.

When LoRA sits only in the top layers of a BERT model, the embeddings and the layers below
never change during training. Their outputs for every text are computed once (eval mode,
under inference mode) and cached; each training step then runs only the adapted top layers,
the pooler and the classifier. The exported model stays a standard transformers model.
"""

from __future__ import annotations

from typing import Any, Sequence

# The cache is kept in memory; past this many bytes the trainer runs the full model instead.
MAX_CACHE_BYTES = 6 * 2**30
SUPPORTED_TYPES = ("bert",)


def _classifier_model(model: Any) -> Any:
    """The BertForSequenceClassification inside a PEFT wrapper (or the model itself)."""
    inner = model
    while hasattr(inner, "base_model") and inner.base_model is not inner and not hasattr(inner, "bert"):
        inner = inner.base_model
    while hasattr(inner, "model") and not hasattr(inner, "bert"):
        inner = inner.model
    return inner


def cache_bytes(lengths: Sequence[int], hidden_size: int) -> int:
    return sum(lengths) * hidden_size * 4


def can_cache(model: Any, first_adapted_layer: int, lengths: Sequence[int]) -> bool:
    inner = _classifier_model(model)
    config = inner.config
    return (config.model_type in SUPPORTED_TYPES and hasattr(inner, "bert")
            and first_adapted_layer > 0
            and cache_bytes(lengths, config.hidden_size) <= MAX_CACHE_BYTES)


class FrozenPrefix:
    """Cached hidden states after layer ``first_adapted_layer - 1`` for a list of encoded texts."""

    def __init__(self, model: Any, first_adapted_layer: int):
        self.inner = _classifier_model(model)
        self.bert = self.inner.bert
        self.first = first_adapted_layer

    def compute(self, encoded: Sequence[Sequence[int]], pad_id: int, device: Any,
                batch_size: int = 64) -> list[Any]:
        import torch

        from lorasent_tui.core.batching import iter_batches, sorted_batches

        states: list[Any] = [None] * len(encoded)
        was_training = self.bert.training
        self.bert.eval()
        with torch.inference_mode():
            for index, batch in iter_batches(encoded, sorted_batches([len(e) for e in encoded], batch_size),
                                             pad_id):
                hidden = self._lower(batch["input_ids"].to(device), batch["attention_mask"].to(device))
                for row, i in enumerate(index):
                    states[i] = hidden[row, :len(encoded[i])].clone()
        self.bert.train(was_training)
        return states

    def _mask(self, hidden: Any, attention_mask: Any) -> Any:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(config=self.bert.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)

    def _lower(self, input_ids: Any, attention_mask: Any) -> Any:
        hidden = self.bert.embeddings(input_ids=input_ids)
        mask = self._mask(hidden, attention_mask)
        for layer in self.bert.encoder.layer[:self.first]:
            hidden = layer(hidden, mask)
        return hidden

    def logits(self, states: Sequence[Any], device: Any, pad_multiple: int = 1) -> Any:
        """Top layers, pooler and classifier over a batch of cached states."""
        import torch

        width = max(s.shape[0] for s in states)
        if pad_multiple > 1:
            width = -(-width // pad_multiple) * pad_multiple
        hidden = torch.zeros((len(states), width, states[0].shape[-1]), dtype=states[0].dtype)
        attention_mask = torch.zeros((len(states), width), dtype=torch.long)
        for row, state in enumerate(states):
            hidden[row, :state.shape[0]] = state
            attention_mask[row, :state.shape[0]] = 1
        hidden, attention_mask = hidden.to(device), attention_mask.to(device)
        mask = self._mask(hidden, attention_mask)
        for layer in self.bert.encoder.layer[self.first:]:
            hidden = layer(hidden, mask)
        pooled = self.bert.pooler(hidden)
        return self.inner.classifier(self.inner.dropout(pooled))
