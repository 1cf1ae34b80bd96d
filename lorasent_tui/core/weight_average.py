"""An exponential moving average of the trained weights (Polyak averaging).

With a high learning rate the weights after any one step are a noisy sample: validation
accuracy swings from epoch to epoch (the fast preset's epoch-2 dip). Evaluating and saving an
average of the recent steps' weights instead removes most of that noise at no training cost
(Polyak & Juditsky, 1992; the EMA of timm and of Hugging Face's diffusers trainers).

Only the trainable tensors are averaged (LoRA, the head, a trained pooler). The average is
what evaluation scores, what pseudo-labels come from and what the adapter saves; training
itself always continues from the raw weights.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

# The decay is ramped up over the first steps ((1 + t) / (10 + t)), so that an average started
# from the untrained weights forgets them quickly (as TensorFlow's ExponentialMovingAverage).
RAMP_STEPS = 10


class WeightAverage:
    """The moving average of ``model``'s trainable tensors with per-step ``decay``."""

    def __init__(self, model: Any, decay: float):
        self.names = [name for name, p in model.named_parameters() if p.requires_grad]
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self.params]
        self.decay = decay
        self.updates = 0

    def update(self) -> None:
        import torch

        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (RAMP_STEPS + self.updates))
        # One fused call per step, as in torch.optim and timm (0.06 against 0.13 ms for the fast
        # preset's 76 tensors): the average is updated on every training step now.
        with torch.no_grad():
            torch._foreach_lerp_(self.average, self.params, 1.0 - decay)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The model holds the averaged weights inside the block, its own after it."""
        import torch

        with torch.no_grad():
            raw = [p.detach().clone() for p in self.params]
            for param, average in zip(self.params, self.average):
                param.copy_(average)
        try:
            yield
        finally:
            with torch.no_grad():
                for param, value in zip(self.params, raw):
                    param.copy_(value)

    def tensors(self) -> dict[str, Any]:
        """The average by parameter name, for the checkpoint."""
        return {f"average.{name}": t.detach().to("cpu").contiguous() for name, t in zip(self.names, self.average)}

    def load(self, tensors: dict[str, Any], updates: int) -> None:
        import torch

        with torch.no_grad():
            for name, average in zip(self.names, self.average):
                average.copy_(tensors[f"average.{name}"].to(average.device))
        self.updates = updates
