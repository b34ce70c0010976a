"""torch.distributed for multi-GPU and multi-node training, launched by torchrun.

Each rank takes its contiguous share of every global batch; DistributedDataParallel
averages the gradients, so a run on N processes follows (up to floating-point
summation order and uneven shards) the trajectory of one process with the same
global batch. Rank 0 alone logs and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistributedContext:
    """This process's place in a distributed run (a single process by default)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the rank that logs and writes files."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to call in training: DistributedDataParallel when distributed."""
        if not self.enabled:
            return model
        device_ids = [self.local_rank] if next(model.parameters()).is_cuda else None
        return torch.nn.parallel.DistributedDataParallel(
            model, device_ids=device_ids, find_unused_parameters=True
        )

    def barrier(self) -> None:
        """Wait for every rank (no-op for a single process)."""
        if self.enabled:
            dist.barrier()

    def mean_over_ranks(self, value: float) -> float:
        """The mean of a number over ranks (for logging global losses)."""
        if not self.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor)
        return float(tensor) / self.world_size

    def broadcast_text(self, text: str) -> str:
        """Rank 0's ``text`` on every rank."""
        if not self.enabled:
            return text
        holder = [text]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


def from_environment() -> DistributedContext:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1), else a single process.

    Uses NCCL when CUDA is available, gloo otherwise; each rank uses GPU ``LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistributedContext(dist.get_rank(), dist.get_world_size(), local_rank)


def shutdown(context: DistributedContext) -> None:
    """Leave the process group."""
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
