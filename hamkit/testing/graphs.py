"""Transform structure graphs (rotate, translate, invert, permute atoms) and unpack predictions.

All helpers take a single-structure graph in the layout of :mod:`hamkit.data.graph`
(``z``, ``pos``, ``pair_index``, ``block_index``; periodic graphs also ``cell``,
``pair_shift``, ``pair_cell_shift``, ``block_cell_shift``) and return a new graph; positions
become float64. Label attributes (``hamiltonian``, ``overlap``) are not carried over.
Rotations and inversions act on the lattice together with the positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph_fields import StructureGraph
from hamkit.physics.blocks import PackedBlockLayout, unpack_blocks

LABEL_KEYS = ("hamiltonian", "overlap", "hamiltonian_mask")


def check_single_structure(graph: StructureGraph) -> None:
    """Raise ``ValueError`` for a batch of several structures (the checkers want one)."""
    if int(getattr(graph, "num_graphs", 1)) != 1:
        raise ValueError("pass one structure's graph, not a batch of several")


def transformed_graph(
    graph: StructureGraph,
    rotation: np.ndarray | None = None,
    translation: np.ndarray | None = None,
    invert: bool = False,
) -> Any:
    """Copy of ``graph`` with positions ``x -> R (s x) + t`` (``s = -1`` when ``invert``).

    Pairs and blocks are unchanged (distances are preserved).

    Args:
        graph: Single-structure graph.
        rotation: (3, 3) proper rotation or None.
        translation: (3,) Angstrom or None.
        invert: Apply the inversion ``x -> -x`` first.

    Returns:
        The new graph.
    """
    new = graph.clone()
    for key in LABEL_KEYS:
        if key in new:
            del new[key]
    pos = graph.pos.detach().to(torch.float64)
    if invert:
        pos = -pos
    if rotation is not None:
        pos = pos @ torch.as_tensor(np.asarray(rotation), dtype=torch.float64).T
    if translation is not None:
        pos = pos + torch.as_tensor(np.asarray(translation), dtype=torch.float64)
    new.pos = pos
    for key in ("pair_shift", "cell"):
        if key in graph:
            vectors = graph[key].detach().to(torch.float64)
            vectors = -vectors if invert else vectors
            if rotation is not None:
                vectors = vectors @ torch.as_tensor(np.asarray(rotation), dtype=torch.float64).T
            new[key] = vectors
    return new


def permuted_graph(graph: StructureGraph, permutation: Sequence[int] | np.ndarray) -> Any:
    """The same structure with atoms renumbered: new atom ``k`` is old atom ``permutation[k]``.

    Pairs are re-sorted (by i, then j) and blocks rebuilt (on-site first), as
    :func:`hamkit.data.graph.structure_graph` would lay them out.

    Returns:
        A new ``Data`` with ``z``, ``pos`` (float64), ``pair_index``, ``block_index``
        (and ``charge`` when present).
    """
    perm = torch.as_tensor(np.asarray(permutation), dtype=torch.long)
    n = graph.z.shape[0]
    if sorted(perm.tolist()) != list(range(n)):
        raise ValueError(f"not a permutation of {n} atoms: {perm.tolist()}")
    inverse = torch.argsort(perm)
    pairs = inverse[graph.pair_index.long()]
    cell_shift = graph.get("pair_cell_shift")
    keys = [pairs[1], pairs[0]] if cell_shift is None else [*cell_shift.T.flip(0), pairs[1], pairs[0]]
    order = torch.as_tensor(np.lexsort([key.numpy() for key in keys]))
    pairs = pairs[:, order]
    onsite = torch.arange(n).repeat(2, 1)
    new = Data(
        z=graph.z[perm],
        pos=graph.pos.detach().to(torch.float64)[perm],
        pair_index=pairs,
        block_index=torch.cat([onsite, pairs], dim=1),
        num_nodes=n,
    )
    if "charge" in graph:
        new.charge = graph.charge
    if cell_shift is not None:
        new.cell = graph.cell
        new.pair_cell_shift = cell_shift[order]
        new.pair_shift = graph.pair_shift[order]
        new.block_cell_shift = torch.cat([torch.zeros(n, 3, dtype=cell_shift.dtype), cell_shift[order]])
    return new


def orbital_permutation(
    numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis, permutation: Sequence[int] | np.ndarray
) -> np.ndarray:
    """Orbital index map of an atom permutation: ``M_new = M_old[idx][:, idx]``.

    Args:
        numbers: Old atomic numbers (n_atoms,).
        basis: Shells per element.
        permutation: New atom ``k`` is old atom ``permutation[k]``.

    Returns:
        (n_orbitals,) int64.
    """
    offsets = basis.atom_orbital_offsets(numbers)
    return np.concatenate([np.arange(offsets[a], offsets[a + 1]) for a in permutation]).astype(np.int64)


def block_layout(graph: StructureGraph, basis: OrbitalBasis) -> PackedBlockLayout:
    """Packed layout of a single-structure graph's blocks (periodic: over its translations)."""
    from hamkit.data.graph import graph_layout

    return graph_layout(graph, basis)[0]


def packed_to_matrix(packed: torch.Tensor | np.ndarray, graph: StructureGraph, basis: OrbitalBasis) -> np.ndarray:
    """Full float64 matrix of packed blocks; absent blocks are 0.

    Returns:
        (n_orbitals, n_orbitals) for a molecule; (n_R, n_orbitals, n_orbitals) for a
        periodic graph, over its distinct translations in lexicographic order.
    """
    if isinstance(packed, torch.Tensor):
        packed = packed.detach().cpu().to(torch.float64).numpy()
    return unpack_blocks(np.asarray(packed, dtype=np.float64), block_layout(graph, basis))


def molecule_graph(structure: Any, basis: OrbitalBasis, cutoff: float | None = None) -> Data:
    """:func:`hamkit.data.graph.structure_graph` (imported lazily)."""
    from hamkit.data.graph import structure_graph

    return structure_graph(structure, basis, cutoff)
