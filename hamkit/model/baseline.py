"""A fixed, rotation-invariant on-site baseline per element, added to the prediction.

On-site blocks carry large constants (an oxygen 1s diagonal is about -19 Ha) that a
network would otherwise have to build through a few output weights. The baseline is
the invariant part of the element's mean on-site block over the training set: for each
pair of shells of equal degree l, ``tr(B_ab) / (2l+1)`` times the identity (the L=0
component of the sub-block); zero between shells of different degree. It is exactly
equivariant, so the network only learns the residual.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import onsite_blocks
from hamkit.data.structure import HamiltonianRecord
from hamkit.physics.blocks import subblock_slices


def invariant_part(block: np.ndarray, z: int, basis: OrbitalBasis) -> np.ndarray:
    """The L=0 (identity) components of an on-site block's equal-degree sub-blocks.

    Args:
        block: (n_z, n_z) on-site block of element ``z``.
        z: Atomic number.
        basis: Orbital basis.

    Returns:
        (n_z, n_z), nonzero only on equal-degree diagonal sub-blocks.
    """
    result = np.zeros_like(block)
    for sub in subblock_slices(z, z, basis):
        if sub.l_row == sub.l_col:
            size = 2 * sub.l_row + 1
            result[sub.rows, sub.cols] = np.trace(block[sub.rows, sub.cols]) / size * np.eye(size)
    return result


def mean_onsite_blocks(records: Iterable[HamiltonianRecord], basis: OrbitalBasis) -> dict[int, np.ndarray]:
    """Invariant part of the mean on-site block of each element over ``records``."""
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for record in records:
        numbers = record.structure.numbers
        offsets = basis.atom_orbital_offsets(numbers)
        home = record.home_cell(record.hamiltonian)
        for atom, z in enumerate(numbers.tolist()):
            block = home[offsets[atom]:offsets[atom + 1], offsets[atom]:offsets[atom + 1]]
            sums[z] = sums.get(z, 0.0) + block
            counts[z] = counts.get(z, 0) + 1
    return {z: invariant_part(sums[z] / counts[z], z, basis) for z in sums}


class OnsiteBaseline(nn.Module):
    """Adds each element's baseline block to the on-site blocks of a packed prediction.

    The per-element blocks are buffers, so they travel with the model's state dict.

    Args:
        basis: Orbital basis (fixes the block sizes).
        blocks: Element -> (n_z, n_z) baseline; elements left out get zeros (to be
            filled by ``load_state_dict``).
    """

    orbitals_of: torch.Tensor
    """Orbitals of each atomic number up to the largest of the basis (0 outside it); a buffer."""

    def __init__(self, basis: OrbitalBasis, blocks: dict[int, np.ndarray] | None = None) -> None:
        super().__init__()
        blocks = blocks or {}
        self.elements = [int(z) for z in basis.elements]
        sizes = torch.tensor([basis.n_orbitals(z) if z in self.elements else 0
                              for z in range(max(self.elements) + 1)])
        self.register_buffer("orbitals_of", sizes, persistent=False)
        for z in self.elements:
            n = basis.n_orbitals(z)
            value = torch.as_tensor(blocks.get(z, np.zeros((n, n)))).reshape(-1)
            self.register_buffer(f"element_{z}", value.to(torch.float64))

    def forward(self, packed: torch.Tensor, graph) -> torch.Tensor:
        """``packed`` (n_elements,) plus the baseline on every on-site block."""
        rows, cols = graph.block_index
        n_rows, n_cols = self.orbitals_of[graph.z[rows]], self.orbitals_of[graph.z[cols]]
        offsets = torch.cumsum(n_rows * n_cols, 0) - n_rows * n_cols
        onsite = onsite_blocks(graph)
        offset = torch.zeros_like(packed)
        for z in self.elements:
            chosen = onsite & (graph.z[rows] == z)
            if not bool(chosen.any()):
                continue
            values = getattr(self, f"element_{z}").to(packed.dtype)
            index = offsets[chosen, None] + torch.arange(values.numel(), device=packed.device)
            offset = offset.index_put((index.reshape(-1),), values.repeat(int(chosen.sum())))
        return packed + offset
