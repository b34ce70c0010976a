"""DataLoaders of the training loop, validation and evaluation.

Training batches follow :func:`hamkit.engine.data_order.batch_indices` step by step, so the
loader's batch sampler is a lazy :class:`BatchPlan` (a plan of 10^5 steps over 10^5
structures is never materialised). Validation and evaluation walk their split in order,
``batch_size`` items at a time (:func:`chunk_loader`); where the items are built on demand
(:class:`~hamkit.engine.prepare.LazyGraphs`, :class:`~hamkit.engine.prepare.RecordGraphs`)
worker processes build them. Every loader gives exactly the items, in exactly the order,
of the in-process path, so workers change speed and memory, never results.

Worker processes inherit the dataset; a hamkit store re-opens its HDF5 file in each of
them (:class:`hamkit.data.store.StoreReader` notices the new process id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeGuard, TypeVar

import numpy as np
import torch

from hamkit.engine.prepare import Indexed, LazyGraphs, RecordGraphs

Item = TypeVar("Item")

PREFETCH_FACTOR = 4
"""Batches each worker prepares ahead: enough to hide a slow record read (gzip, a busy
disk) behind the model step, small enough that 4 workers hold 16 batches at most."""


def worker_options(num_workers: int, device: torch.device, persistent: bool) -> dict[str, Any]:
    """Keyword arguments of a :class:`torch.utils.data.DataLoader` with worker processes.

    Args:
        num_workers: Worker processes (> 0).
        device: Where batches go (pinned memory for CUDA).
        persistent: Keep the workers between passes over the loader (validation).
    """
    return {"num_workers": num_workers, "pin_memory": device.type == "cuda",
            "persistent_workers": persistent, "prefetch_factor": PREFETCH_FACTOR}


class BatchPlan:
    """The index lists of consecutive batch numbers, each computed when the loader asks.

    Args:
        indices_of: Batch number -> indices of that batch (e.g. this rank's share).
        first: First batch number.
        end: One past the last batch number.
    """

    def __init__(self, indices_of: Callable[[int], np.ndarray], first: int, end: int) -> None:
        self.indices_of = indices_of
        self.first = first
        self.end = max(end, first)

    def __len__(self) -> int:
        return self.end - self.first

    def __iter__(self) -> Iterator[list[int]]:
        for number in range(self.first, self.end):
            yield self.indices_of(number).tolist()


class InProcessChunks(Generic[Item]):
    """``items[0:size]``, ``items[size:2 size]``, ... as lists, made in this process (re-iterable).

    Args:
        items: Graphs, or ``(record, graph)`` pairs.
        size: Items per chunk.
    """

    def __init__(self, items: Indexed[Item], size: int) -> None:
        self.items = items
        self.size = size

    def __len__(self) -> int:
        return -(-len(self.items) // self.size)

    def __iter__(self) -> Iterator[list[Item]]:
        for start in range(0, len(self.items), self.size):
            yield [self.items[i] for i in range(start, min(start + self.size, len(self.items)))]


def builds_on_demand(items: Indexed[Any]) -> TypeGuard[LazyGraphs | RecordGraphs]:
    """Whether indexing ``items`` reads records (work for workers) rather than returning held objects."""
    return isinstance(items, (LazyGraphs, RecordGraphs))


def chunk_loader(items: Indexed[Item], size: int, num_workers: int, device: torch.device,
                 persistent: bool = False) -> Iterable[list[Item]]:
    """Consecutive chunks of ``items`` in order, built by workers where that helps.

    Args:
        items: Graphs, or ``(record, graph)`` pairs.
        size: Items per chunk (the batch size).
        num_workers: Worker processes; 0, or items already in memory: this process.
        device: Where the batches go.
        persistent: Keep the workers between passes (a loader iterated at every validation).

    Returns:
        A re-iterable of lists, the last one possibly shorter.
    """
    if num_workers == 0 or not builds_on_demand(items) or len(items) == 0:
        return InProcessChunks(items, size)
    plan = [list(range(start, min(start + size, len(items)))) for start in range(0, len(items), size)]
    options = worker_options(num_workers, device, persistent)
    options["pin_memory"] = False  # chunks are collated here; pinned items would be copied anyway
    return torch.utils.data.DataLoader(items, batch_sampler=plan, collate_fn=list, **options)
