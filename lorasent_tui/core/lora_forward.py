"""LoRA layers that add their update inside the product while a run trains.

peft's LoRA linear layer computes ``base(x) + lora_B(lora_A(x)) * scaling``: after the rank-r
product, a scaling pass and an addition each read and write a whole activation (2,048 tokens x
384 or 1,536 columns for a fast-preset batch), forward and again in backward. A single
``addmm(base(x), lora_A(x), B^T, alpha=scaling)`` does the same sum in the product's epilogue, in
one pass. The parameters, their names, the saved adapter and every other code path stay peft's:
the faster forward is an instance attribute, set on the plain LoRA layers only for the span of
``fused_lora_forward`` and removed after it. A layer that is merged (evaluation scores merged),
has its adapters disabled, is called with extra arguments, or gets an input of another dtype than
its LoRA weights outside autocast (peft would cast it) runs peft's own forward unchanged.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator


def _plain_lora_layers(model: Any) -> list[Any]:
    """peft LoRA linear layers with one adapter, no dropout, no bias, no variant (DoRA)."""
    import torch
    from peft.tuners.lora.layer import Linear

    layers = []
    for module in model.modules():
        if type(module) is not Linear or len(module.active_adapters) != 1:
            continue
        name = module.active_adapters[0]
        if (name in module.lora_A and name not in module.lora_variant and not module.fan_in_fan_out
                and isinstance(module.lora_dropout[name], torch.nn.Identity)
                and module.lora_B[name].bias is None):
            layers.append(module)
    return layers


class _SharedCasts(threading.local):
    """Under autocast, each fp32 activation cast once to the autocast dtype, and the cast shared.

    autocast casts a linear layer's input on every call. A BERT layer feeds the same fp32
    activation (a layer norm's output) to query, key and value, and each LoRA layer reads its
    input twice (the base product and ``lora_A``): six casts of one tensor forward, and in
    backward six gradients converted back to fp32 and summed there, where one cast and one
    conversion do. The cast rounds exactly as autocast's would; only the shared cast's gradient
    is summed in bf16 rather than fp32.
    """

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.cast: Any = None

    def activation(self, x: Any) -> Any:
        import torch

        device = x.device.type
        if x.dtype != torch.float32 or not torch.is_autocast_enabled(device):
            return x
        dtype = torch.get_autocast_dtype(device)
        # The tensor itself is held in the key (so its id cannot be reused), with its version and
        # the grad mode: only calls that would have made the same cast share it.
        key = (x, x._version, dtype, torch.is_grad_enabled())
        if self.key is None or self.key[0] is not x or self.key[1:] != key[1:]:
            self.key, self.cast = key, x.to(dtype)
        return self.cast

    def clear(self) -> None:
        self.key = self.cast = None


class _FrozenWeights:
    """A frozen base layer's weight and bias in the autocast dtype, cast again when they change
    (autocast keeps its casts of trained weights for a step, and recasts frozen ones each call)."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.key: tuple[Any, ...] | None = None
        self.weights: tuple[Any, Any] = (None, None)

    def cast(self, dtype: Any) -> tuple[Any, Any]:
        weight, bias = self.base.weight, self.base.bias
        key = (dtype, weight._version, None if bias is None else bias._version)
        if key != self.key:
            self.key = key
            self.weights = (weight.detach().to(dtype),
                            None if bias is None else bias.detach().to(dtype))
        return self.weights


def _fused_forward(layer: Any, casts: _SharedCasts) -> Any:
    import torch
    from torch.nn import functional as F

    peft_forward = type(layer).forward.__get__(layer)
    name = layer.active_adapters[0]
    lora_a, lora_b = layer.lora_A[name], layer.lora_B[name]
    base = layer.base_layer
    frozen = (_FrozenWeights(base) if type(base) is torch.nn.Linear
              and not any(p.requires_grad for p in base.parameters()) else None)

    def forward(x: Any, *args: Any, **kwargs: Any) -> Any:
        mixed_dtypes = (x.dtype != lora_a.weight.dtype
                        and not torch.is_autocast_enabled(x.device.type))
        if args or kwargs or layer.merged or layer.disable_adapters or mixed_dtypes:
            return peft_forward(x, *args, **kwargs)
        x = casts.activation(x)
        if frozen is not None and x.dtype != torch.float32:
            result = F.linear(x, *frozen.cast(x.dtype))
        else:
            result = base(x)
        low_rank = lora_a(x)
        summed = torch.addmm(result.reshape(-1, result.shape[-1]),
                             low_rank.reshape(-1, low_rank.shape[-1]),
                             lora_b.weight.t(), alpha=layer.scaling[name])
        return summed.view(result.shape)

    return forward


@contextmanager
def fused_lora_forward(model: Any) -> Iterator[int]:
    """Within the block, ``model``'s plain LoRA layers add their update in the product; yields
    how many layers do."""
    layers = _plain_lora_layers(model)
    casts = _SharedCasts()
    for layer in layers:
        layer.forward = _fused_forward(layer, casts)
    try:
        yield len(layers)
    finally:
        casts.clear()
        for layer in layers:
            layer.__dict__.pop("forward", None)
