"""TraceGrad's invariant labels, laid out for graphs: tr(B B^T) of every sub-block.

For each predicted block (on-site per atom, off-site per pair) the labels are the
squared Frobenius norms of its (shell a, shell b) sub-blocks, row-shell major, padded
to the largest count over the basis' element pairs with a 0/1 mask, so node and pair
labels stack into plain (n_items, max_subblocks) tensors.
"""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.blocks import PackedBlockLayout, subblock_slices


def max_subblocks(basis: OrbitalBasis) -> int:
    """Largest number of (shell, shell) sub-blocks of any block: max n_shells(Z)^2."""
    return max(len(basis.shell_ls(z)) for z in basis.elements) ** 2


def block_trace_labels(
    packed: np.ndarray, layout: PackedBlockLayout, numbers: np.ndarray, basis: OrbitalBasis,
    positions: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-block traces of some blocks of a packed vector.

    Works for molecules and periodic structures alike, since the packed blocks already
    carry their lattice translation.

    Args:
        packed: (n_elements,) packed blocks in the canonical convention.
        layout: Their layout.
        numbers: (n_atoms,) atomic numbers.
        basis: Orbital basis.
        positions: (n_items,) which blocks of the layout, in label order.

    Returns:
        Traces (n_items, max_subblocks(basis)) and their 0/1 mask, float64.
    """
    width = max_subblocks(basis)
    traces = np.zeros((len(positions), width))
    mask = np.zeros((len(positions), width))
    for k, position in enumerate(np.asarray(positions).tolist()):
        i, j = layout.pairs[position]
        block = layout.block(packed, position)
        for s, sub in enumerate(subblock_slices(int(numbers[i]), int(numbers[j]), basis)):
            traces[k, s] = np.square(block[sub.rows, sub.cols]).sum()
            mask[k, s] = 1.0
    return traces, mask
