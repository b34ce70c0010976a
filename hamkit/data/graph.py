"""Structure graphs for the models: atoms, pairs and packed Hamiltonian blocks.

A graph holds, per structure, the atoms (``z``, ``pos``), the ordered atom pairs
the model sees (``pair_index``, both directions, i != j, within a cutoff) and the
list of Hamiltonian blocks it predicts (``block_index``: every on-site block
(i, i), then every pair of ``pair_index``). Labels are the blocks' elements,
flattened row-major and concatenated (``hamiltonian``, ``overlap``): no padding,
so batching many molecules of different sizes wastes no memory (fill ratio 1).

Periodic structures add ``cell`` (1, 3, 3) (lattice vectors as rows, Angstrom) and
their pairs run over periodic images: ``pair_cell_shift`` (n_pairs, 3) int64 is the
lattice translation R of atom j (self-images (i, i, R != 0) included), ``pair_shift``
(n_pairs, 3) = R @ cell in Angstrom, so ``r_ij = pos_j - pos_i + pair_shift``, and
``block_cell_shift`` (n_blocks, 3) the translation of every block (zero on-site).
Block (i, j, R) is H_ij(R) of :mod:`hamkit.data.structure`.

torch-geometric batches graphs by concatenation and shifts every ``*_index``
attribute by the number of atoms before it, so batched graphs keep this layout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.data.basis import OrbitalBasis
from hamkit.data.neighbours import molecule_pairs, periodic_pairs
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.trace_labels import block_trace_labels
from hamkit.errors import HamkitError
from hamkit.physics.blocks import PackedBlockLayout, pack_blocks

__all__ = ["block_pairs", "graph_layout", "labelled_graph", "molecule_pairs", "onsite_blocks", "structure_graph"]


def onsite_blocks(graph: Data) -> torch.Tensor:
    """Which blocks of a (batched) graph are on-site: (i, i) in the home cell, (n_blocks,) bool.

    Self-image blocks (i, i, R != 0) of periodic graphs are hoppings, not on-site blocks.
    """
    rows, cols = graph.block_index
    onsite = rows == cols
    shifts = getattr(graph, "block_cell_shift", None)
    return onsite if shifts is None else onsite & (shifts == 0).all(dim=1)


def block_pairs(n_atoms: int, pair_index: np.ndarray) -> np.ndarray:
    """The predicted blocks: on-site (i, i) for every atom, then the pairs; (2, n_blocks)."""
    onsite = np.arange(n_atoms, dtype=np.int64)
    return np.concatenate([np.stack([onsite, onsite]), pair_index], axis=1)


def _check_elements(structure: Structure, basis: OrbitalBasis) -> None:
    missing = sorted(set(structure.numbers.tolist()) - set(basis.elements))
    if missing:
        raise ValueError(f"the basis '{basis.name}' has no shells for element(s) Z={missing}")


def structure_graph(
    structure: Structure, basis: OrbitalBasis, cutoff: float | None = None
) -> Data:
    """Graph of an unlabelled structure (for prediction).

    Args:
        structure: The atoms (a molecule, or periodic with a cell).
        basis: Orbital basis (every element of the structure must be in it).
        cutoff: Pair cutoff in Angstrom; None connects every pair (molecules only).

    Returns:
        A ``Data`` with ``z`` (n,), ``pos`` (n, 3) float64, ``pair_index`` (2, p),
        ``block_index`` (2, n + p), ``charge`` (1,); periodic structures add ``cell``,
        ``pair_cell_shift``, ``pair_shift`` and ``block_cell_shift`` (module docstring).

    Raises:
        HamkitError: A periodic structure without a cutoff.
    """
    _check_elements(structure, basis)
    graph = Data(z=torch.as_tensor(structure.numbers), pos=torch.as_tensor(structure.positions),
                 charge=torch.tensor([structure.charge]), num_nodes=structure.n_atoms)
    if not structure.is_periodic:
        pairs = molecule_pairs(structure.positions, cutoff)
        graph.pair_index = torch.as_tensor(pairs)
        graph.block_index = torch.as_tensor(block_pairs(structure.n_atoms, pairs))
        return graph
    if cutoff is None:
        raise HamkitError("a periodic structure needs a finite pair cutoff (model.pair_cutoff or the "
                          "featurizer's cutoff): a fully connected graph of infinitely many images is undefined")
    cell = structure.require_cell()
    pairs, shifts = periodic_pairs(structure.positions, cell, structure.pbc, cutoff)
    graph.pair_index = torch.as_tensor(pairs)
    graph.block_index = torch.as_tensor(block_pairs(structure.n_atoms, pairs))
    graph.cell = torch.as_tensor(cell).reshape(1, 3, 3)
    graph.pair_cell_shift = torch.as_tensor(shifts)
    graph.pair_shift = torch.as_tensor(shifts.astype(np.float64) @ cell)
    graph.block_cell_shift = torch.cat([torch.zeros(structure.n_atoms, 3, dtype=torch.int64), graph.pair_cell_shift])
    return graph


def graph_layout(graph: Data, basis: OrbitalBasis) -> tuple[PackedBlockLayout, np.ndarray | None]:
    """Packed layout of one structure's graph, and the lattice translations of its blocks.

    Args:
        graph: Single-structure graph (``z``, ``block_index``, periodic: ``block_cell_shift``).
        basis: Orbital basis.

    Returns:
        ``(layout, translations)``: for a molecule the layout of one (n, n) matrix and None;
        for a periodic graph the layout over the stack H(R) of its distinct translations,
        ``translations`` (n_R, 3) int64 sorted lexicographically.
    """
    numbers = graph.z.cpu().numpy()
    blocks = graph.block_index.T.cpu().tolist()
    shifts = getattr(graph, "block_cell_shift", None)
    if shifts is None:
        return PackedBlockLayout.build(numbers, basis, blocks), None
    translations, matrix_index = np.unique(shifts.cpu().numpy(), axis=0, return_inverse=True)
    layout = PackedBlockLayout.build(numbers, basis, blocks, matrix_index.reshape(-1), len(translations))
    return layout, translations.astype(np.int64)


def record_matrices_at(record: HamiltonianRecord, matrices: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """A periodic record's matrices at given translations; zero where the record has none.

    Args:
        record: Periodic record (its ``translations`` index ``matrices``).
        matrices: (n_R_record, n, n), e.g. ``record.hamiltonian``.
        translations: (n_R, 3) wanted translations.

    Returns:
        (n_R, n, n).
    """
    lookup = record.translation_lookup()
    n = matrices.shape[-1]
    out = np.zeros((len(translations), n, n), dtype=np.asarray(matrices).dtype)
    for r, translation in enumerate(translations.tolist()):
        position = lookup.get(tuple(translation))
        if position is not None:
            out[r] = matrices[position]
    return out


def labelled_graph(record: HamiltonianRecord, basis: OrbitalBasis, cutoff: float | None = None) -> Data:
    """Graph of a labelled structure: :func:`structure_graph` plus packed labels.

    Adds ``hamiltonian`` (n_elements,) and, when known, ``overlap`` (n_elements,):
    the elements of the blocks of ``block_index``, float64, Hartree; and TraceGrad's
    labels (see :mod:`hamkit.data.trace_labels`): ``node_trace`` / ``node_trace_mask``
    (n_atoms, k) for the on-site blocks and ``pair_trace`` / ``pair_trace_mask``
    (n_pairs, k) for the blocks of ``pair_index``. Periodic blocks whose translation the
    record lacks (beyond its stored range) are labelled zero.
    """
    graph = structure_graph(record.structure, basis, cutoff)
    layout, translations = graph_layout(graph, basis)

    def packed(matrices: np.ndarray) -> torch.Tensor:
        if translations is not None:
            matrices = record_matrices_at(record, np.asarray(matrices), translations)
        return torch.as_tensor(pack_blocks(np.asarray(matrices), layout))

    graph.hamiltonian = packed(record.hamiltonian)
    if record.overlap is not None:
        graph.overlap = packed(record.overlap)
    numbers = record.structure.numbers
    n_atoms, n_blocks = len(numbers), len(layout.pairs)
    values = graph.hamiltonian.numpy()
    for prefix, positions in (("node", np.arange(n_atoms)), ("pair", np.arange(n_atoms, n_blocks))):
        traces, mask = block_trace_labels(values, layout, numbers, basis, positions)
        graph[f"{prefix}_trace"] = torch.as_tensor(traces)
        graph[f"{prefix}_trace_mask"] = torch.as_tensor(mask)
    return graph
