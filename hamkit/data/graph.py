"""Structure graphs for the models: atoms, pairs and packed Hamiltonian blocks.

A graph holds, per structure, the atoms (``z``, ``pos``), the ordered atom pairs
the model sees (``pair_index``, both directions, i != j, within a cutoff) and the
list of Hamiltonian blocks it predicts (``block_index``: every on-site block
(i, i), then every pair of ``pair_index``). Labels are the blocks' elements,
flattened row-major and concatenated (``hamiltonian``, ``overlap``): no padding,
so batching many molecules of different sizes wastes no memory (fill ratio 1).

torch-geometric batches graphs by concatenation and shifts every ``*_index``
attribute by the number of atoms before it, so batched graphs keep this layout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.trace_labels import block_trace_labels
from hamkit.physics.blocks import PackedBlockLayout, pack_blocks


def molecule_pairs(positions: np.ndarray, cutoff: float | None) -> np.ndarray:
    """Ordered atom pairs (i, j), i != j, closer than ``cutoff`` (all pairs when None).

    Uses matscipy's linked-cell neighbour list (open boundaries) for a finite cutoff.

    Args:
        positions: (n_atoms, 3) Angstrom.
        cutoff: Radius in Angstrom, or None for the fully connected graph.

    Returns:
        (2, n_pairs) int64, sorted by i then j.
    """
    n = len(positions)
    if cutoff is None or n < 2:
        i, j = np.nonzero(~np.eye(n, dtype=bool))
        return np.stack([i, j]).astype(np.int64)
    from matscipy.neighbours import neighbour_list

    span = np.ptp(positions, axis=0) + 2.0 * cutoff + 1.0
    i, j = neighbour_list("ij", positions=positions - positions.min(axis=0) + cutoff,
                          cutoff=cutoff, cell=np.diag(span), pbc=[False, False, False])
    order = np.lexsort((j, i))
    return np.stack([i[order], j[order]]).astype(np.int64)


def block_pairs(n_atoms: int, pair_index: np.ndarray) -> np.ndarray:
    """The predicted blocks: on-site (i, i) for every atom, then the pairs; (2, n_blocks)."""
    onsite = np.arange(n_atoms, dtype=np.int64)
    return np.concatenate([np.stack([onsite, onsite]), pair_index], axis=1)


def structure_graph(
    structure: Structure, basis: OrbitalBasis, cutoff: float | None = None
) -> Data:
    """Graph of an unlabelled structure (for prediction).

    Args:
        structure: The atoms.
        basis: Orbital basis (every element of the structure must be in it).
        cutoff: Pair cutoff in Angstrom; None connects every pair.

    Returns:
        A ``Data`` with ``z`` (n,), ``pos`` (n, 3) float64, ``pair_index`` (2, p),
        ``block_index`` (2, n + p), ``charge`` (1,).
    """
    missing = sorted(set(structure.numbers.tolist()) - set(basis.elements))
    if missing:
        raise ValueError(f"the basis '{basis.name}' has no shells for element(s) Z={missing}")
    pairs = molecule_pairs(structure.positions, cutoff)
    return Data(
        z=torch.as_tensor(structure.numbers),
        pos=torch.as_tensor(structure.positions),
        pair_index=torch.as_tensor(pairs),
        block_index=torch.as_tensor(block_pairs(structure.n_atoms, pairs)),
        charge=torch.tensor([structure.charge]),
        num_nodes=structure.n_atoms,
    )


def labelled_graph(record: HamiltonianRecord, basis: OrbitalBasis, cutoff: float | None = None) -> Data:
    """Graph of a labelled structure: :func:`structure_graph` plus packed labels.

    Adds ``hamiltonian`` (n_elements,) and, when known, ``overlap`` (n_elements,):
    the elements of the blocks of ``block_index``, float64, Hartree; and TraceGrad's
    labels (see :mod:`hamkit.data.trace_labels`): ``node_trace`` / ``node_trace_mask``
    (n_atoms, k) for the on-site blocks and ``pair_trace`` / ``pair_trace_mask``
    (n_pairs, k) for the blocks of ``pair_index``.
    """
    graph = structure_graph(record.structure, basis, cutoff)
    layout = PackedBlockLayout.build(record.structure.numbers, basis, graph.block_index.T.tolist())
    graph.hamiltonian = torch.as_tensor(pack_blocks(record.hamiltonian, layout))
    if record.overlap is not None:
        graph.overlap = torch.as_tensor(pack_blocks(record.overlap, layout))
    numbers = record.structure.numbers
    atoms = np.arange(len(numbers))
    pairs = graph.pair_index.numpy()
    for prefix, (rows, cols) in (("node", (atoms, atoms)), ("pair", (pairs[0], pairs[1]))):
        traces, mask = block_trace_labels(record.hamiltonian, numbers, basis, rows, cols)
        graph[f"{prefix}_trace"] = torch.as_tensor(traces)
        graph[f"{prefix}_trace_mask"] = torch.as_tensor(mask)
    return graph
