"""Turning graphs into model inputs and loss targets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch_geometric.data import Batch, Data


def collate(graphs: Sequence[Data], dtype: torch.dtype, device: torch.device) -> Batch:
    """Batch graphs; floating tensors take the model's dtype; all move to its device.

    Args:
        graphs: Graphs from :mod:`hamkit.data.graph`.
        dtype: Floating dtype of the model.
        device: Where the model lives.
    """
    return to_model(Batch.from_data_list(list(graphs)), dtype, device)


def to_model(batch: Batch, dtype: torch.dtype, device: torch.device) -> Batch:
    """Floating tensors to the model's dtype; everything to its device (non-blocking from
    pinned memory)."""
    for key in batch.keys():
        value = batch[key]
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            batch[key] = value.to(dtype)
    return batch.to(device, non_blocking=True)


def targets_of(batch: Batch) -> dict[str, torch.Tensor]:
    """The batch's tensors as the mapping loss components receive."""
    return {key: batch[key] for key in batch.keys() if isinstance(batch[key], torch.Tensor)}
