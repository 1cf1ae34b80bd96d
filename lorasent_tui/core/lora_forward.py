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


def _fused_forward(layer: Any) -> Any:
    import torch

    peft_forward = type(layer).forward.__get__(layer)
    name = layer.active_adapters[0]
    lora_a, lora_b = layer.lora_A[name], layer.lora_B[name]

    def forward(x: Any, *args: Any, **kwargs: Any) -> Any:
        mixed_dtypes = (x.dtype != lora_a.weight.dtype
                        and not torch.is_autocast_enabled(x.device.type))
        if args or kwargs or layer.merged or layer.disable_adapters or mixed_dtypes:
            return peft_forward(x, *args, **kwargs)
        result = layer.base_layer(x)
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
    for layer in layers:
        layer.forward = _fused_forward(layer)
    try:
        yield len(layers)
    finally:
        for layer in layers:
            layer.__dict__.pop("forward", None)
