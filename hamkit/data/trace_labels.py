"""TraceGrad's invariant labels, laid out for graphs: tr(B B^T) of every sub-block.

For each predicted block (on-site per atom, off-site per pair) the labels are the
squared Frobenius norms of its (shell a, shell b) sub-blocks, row-shell major, padded
to the largest count over the basis' element pairs with a 0/1 mask, so node and pair
labels stack into plain (n_items, max_subblocks) tensors.
"""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.blocks import subblock_slices


def max_subblocks(basis: OrbitalBasis) -> int:
    """Largest number of (shell, shell) sub-blocks of any block: max n_shells(Z)^2."""
    return max(len(basis.shell_ls(z)) for z in basis.elements) ** 2


def block_trace_labels(
    matrix: np.ndarray, numbers: np.ndarray, basis: OrbitalBasis, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-block traces of the blocks (rows[k], cols[k]) of a matrix.

    Args:
        matrix: (n_orbitals, n_orbitals) in the canonical convention.
        numbers: (n_atoms,) atomic numbers.
        basis: Orbital basis.
        rows: (n_blocks,) row atom of each block.
        cols: (n_blocks,) column atom of each block.

    Returns:
        Traces (n_blocks, max_subblocks(basis)) and their 0/1 mask, float64.
    """
    width = max_subblocks(basis)
    traces = np.zeros((len(rows), width))
    mask = np.zeros((len(rows), width))
    offsets = basis.atom_orbital_offsets(numbers)
    for k, (i, j) in enumerate(zip(rows, cols)):
        block = matrix[offsets[i]:offsets[i + 1], offsets[j]:offsets[j + 1]]
        for s, sub in enumerate(subblock_slices(int(numbers[i]), int(numbers[j]), basis)):
            traces[k, s] = np.square(block[sub.rows, sub.cols]).sum()
            mask[k, s] = 1.0
    return traces, mask
