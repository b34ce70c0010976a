"""Turning graphs into model inputs and loss targets."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch_geometric.data import Batch, Data

FLOAT_KEYS = ("pos", "hamiltonian", "overlap")
"""Graph attributes cast to the model dtype."""


def collate(graphs: Sequence[Data], dtype: torch.dtype, device: torch.device) -> Batch:
    """Batch graphs and move them to the model's dtype and device.

    Args:
        graphs: Graphs from :mod:`hamkit.data.graph`.
        dtype: Floating dtype of the model.
        device: Where the model lives.
    """
    batch = Batch.from_data_list(list(graphs))
    for key in FLOAT_KEYS:
        if key in batch:
            batch[key] = batch[key].to(dtype)
    return batch.to(device)


def targets_of(batch: Batch) -> dict[str, torch.Tensor]:
    """The batch's tensors as the mapping loss components receive."""
    return {key: batch[key] for key in batch.keys() if isinstance(batch[key], torch.Tensor)}
