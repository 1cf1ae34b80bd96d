"""Data-parallel training under torchrun / accelerate launch (one process per GPU, or CPUs on gloo).

Every rank trains on its share of each epoch's batches and averages the LoRA gradients with
one all-reduce per step; only rank 0 writes the run folder. Single-process runs pay nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: Any) -> Any:
        import torch

        if self.enabled and requested.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return requested

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (a run id, a config)."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def average_gradients(self, params: list[Any]) -> None:
        if not self.enabled:
            return
        import torch
        import torch.distributed as dist

        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads):
            p.grad = flat[offset:offset + g.numel()].view_as(g)
            offset += g.numel()

    def any(self, flag: bool) -> bool:
        """True on every rank when any rank says so (a stop request reaches all of them)."""
        if not self.enabled:
            return flag
        import torch
        import torch.distributed as dist

        value = torch.tensor([1 if flag else 0])
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This rank's batches; every rank gets the same count (a few are repeated if needed)."""
        if not self.enabled:
            return batches
        per_rank = -(-len(batches) // self.world)
        padded = batches + batches[:per_rank * self.world - len(batches)]
        return padded[self.rank::self.world]


def init_distributed() -> DistContext:
    """Join the process group that torchrun or accelerate set up through the environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
