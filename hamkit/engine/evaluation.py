"""Predicting full Hamiltonians and scoring them with the QH9 metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import Dataset
from hamkit.engine.batches import collate
from hamkit.physics.blocks import PackedBlockLayout, unpack_blocks
from hamkit.physics.metrics import evaluate_hamiltonians


def predict_packed(
    model: torch.nn.Module, graphs: Sequence[Data], dtype: torch.dtype, device: torch.device,
    batch_size: int,
) -> list[np.ndarray]:
    """Packed predicted blocks of each graph (float64 numpy, one array per graph).

    Runs under ``torch.no_grad()`` (not ``inference_mode``: gradient inducers
    differentiate inside the forward pass).
    """
    model.eval()
    packed: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(graphs), batch_size):
            chunk = graphs[start:start + batch_size]
            flat = model(collate(chunk, dtype, device))["hamiltonian"].double().cpu().numpy()
            sizes = [graph.hamiltonian.numel() for graph in chunk]
            packed.extend(np.split(flat, np.cumsum(sizes)[:-1]))
    return packed


def predicted_matrices(
    model: torch.nn.Module, dataset: Dataset, indices: Sequence[int], graphs: Sequence[Data],
    dtype: torch.dtype, device: torch.device, batch_size: int,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Predicted and reference matrices of the given records.

    Args:
        model: The trained model.
        dataset: Where the records come from.
        indices: Record indices, aligned with ``graphs``.
        graphs: Their graphs.
        dtype: Model dtype.
        device: Model device.
        batch_size: Structures per forward pass.

    Returns:
        Per structure ``(H_pred, H_true, S, numbers)``, canonical convention, Hartree;
        blocks the graph does not predict are 0 in ``H_pred``.
    """
    packed = predict_packed(model, graphs, dtype, device, batch_size)
    results = []
    for index, graph, values in zip(indices, graphs, packed):
        record = dataset[int(index)]
        numbers = record.structure.numbers
        layout = PackedBlockLayout.build(numbers, dataset.basis, graph.block_index.T.tolist())
        results.append((unpack_blocks(values, layout), record.hamiltonian, record.overlap, numbers))
    return results


def metrics_of(matrices: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
               basis) -> dict[str, dict]:
    """QH9 metrics (micro-Hartree, psi in %) of :func:`predicted_matrices` output."""
    return evaluate_hamiltonians([(p, t, s, n, basis) for p, t, s, n in matrices])
