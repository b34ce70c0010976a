"""Periodic graphs through a DeepH-E3 model and the CG head: pairing, equivariance, images.

Everything in float64. The structure is a randomly displaced 2D honeycomb whose 4 A
cutoff reaches second-neighbour images and self-images (i, i, R != 0).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamkit.data.graph import graph_layout, structure_graph
from hamkit.data.structure import Structure
from hamkit.testing.equivariance import assert_hamiltonian_equivariant, assert_hamiltonian_symmetric
from hamkit.testing.graphs import packed_to_matrix

from .conftest import honeycomb


def _real_space(model, structure, basis) -> dict[tuple[int, ...], np.ndarray]:
    graph = structure_graph(structure, basis, model.cutoff)
    matrices = packed_to_matrix(model(graph), graph, basis)
    translations = graph_layout(graph, basis)[1]
    return {tuple(r): m for r, m in zip(translations.tolist(), matrices)}


def test_periodic_graph_lists_images_and_reverse_pairs(spd_basis):
    graph = structure_graph(honeycomb(), spd_basis, 4.0)
    i, j = graph.pair_index.tolist()
    shifts = [tuple(s) for s in graph.pair_cell_shift.tolist()]
    triples = set(zip(i, j, shifts))
    assert all((b, a, tuple(-v for v in s)) in triples for a, b, s in triples)
    assert any(a == b for a, b, _ in triples), "self-images (i, i, R != 0) within 4 A expected"
    assert all(s[2] == 0 for s in shifts), "no images along the vacuum direction"
    vectors = graph.pos[graph.pair_index[1]] - graph.pos[graph.pair_index[0]] + graph.pair_shift
    assert float(vectors.norm(dim=1).max()) < 4.0
    assert torch.equal(graph.block_cell_shift[: graph.num_nodes], torch.zeros(graph.num_nodes, 3, dtype=torch.int64))


def test_periodic_graph_needs_a_cutoff(spd_basis):
    from hamkit.errors import HamkitError

    with pytest.raises(HamkitError, match="finite pair cutoff"):
        structure_graph(honeycomb(), spd_basis, None)


def test_hermitian_pairing_is_exact(periodic_model, spd_basis):
    graph = structure_graph(honeycomb(1), spd_basis, periodic_model.cutoff)
    assert assert_hamiltonian_symmetric(periodic_model(graph), graph, spd_basis) == 0.0


def test_symmetry_checker_catches_a_broken_pairing(periodic_model, spd_basis):
    graph = structure_graph(honeycomb(1), spd_basis, periodic_model.cutoff)
    packed = periodic_model(graph).clone()
    layout, _ = graph_layout(graph, spd_basis)
    self_image = int(np.nonzero((graph.pair_index[0] == graph.pair_index[1]).numpy())[0][0]) + graph.num_nodes
    packed[layout.offsets[self_image] + 1] += 1e-3  # one element of a self-image block
    with pytest.raises(AssertionError, match="not symmetric"):
        assert_hamiltonian_symmetric(packed, graph, spd_basis)


def test_rotating_lattice_and_atoms_together_rotates_every_block(periodic_model, spd_basis):
    graph = structure_graph(honeycomb(2), spd_basis, periodic_model.cutoff)
    report = assert_hamiltonian_equivariant(periodic_model, graph, spd_basis, n_rotations=2,
                                            n_permutations=2, check_inversion=True)
    assert max(report.errors.values()) < 1e-10


def test_rotating_atoms_but_not_the_lattice_is_caught(periodic_model, spd_basis):
    """Negative control: a graph whose image vectors did not rotate is not equivariant."""
    from hamkit.testing import graphs

    graph = structure_graph(honeycomb(2), spd_basis, periodic_model.cutoff)
    original = graphs.transformed_graph

    def atoms_only(g, rotation=None, translation=None, invert=False):
        moved = original(g, rotation, translation, invert)
        moved.pair_shift, moved.cell = g.pair_shift.double(), g.cell.double()
        return moved

    try:
        graphs.transformed_graph = atoms_only
        import hamkit.testing.equivariance as equivariance

        equivariance.transformed_graph = atoms_only
        with pytest.raises(AssertionError, match="not equivariant"):
            assert_hamiltonian_equivariant(periodic_model, graph, spd_basis, n_rotations=1, n_permutations=0)
    finally:
        graphs.transformed_graph = original
        equivariance.transformed_graph = original


def test_wrapping_an_atom_into_another_cell_only_relabels_translations(periodic_model, spd_basis):
    """Moving atom 1 by a lattice vector a1 turns H_01(R) into H_01(R - a1), H_10(R) into H_10(R + a1)."""
    structure = honeycomb(3)
    moved = Structure(structure.numbers, structure.positions + np.array([[0, 0, 0], structure.cell[0]]),
                      cell=structure.cell, pbc=structure.pbc)
    before = _real_space(periodic_model, structure, spd_basis)
    after = _real_space(periodic_model, moved, spd_basis)
    offsets = spd_basis.atom_orbital_offsets(structure.numbers)
    a, b = slice(offsets[0], offsets[1]), slice(offsets[1], offsets[2])
    compared = 0
    for (rx, ry, rz), matrix in before.items():
        shifted_01, shifted_10 = (rx - 1, ry, rz), (rx + 1, ry, rz)
        if shifted_01 in after:
            np.testing.assert_allclose(after[shifted_01][a, b], matrix[a, b], atol=1e-12)
            compared += 1
        if shifted_10 in after:
            np.testing.assert_allclose(after[shifted_10][b, a], matrix[b, a], atol=1e-12)
        np.testing.assert_allclose(after[(rx, ry, rz)][a, a] if (rx, ry, rz) in after else 0 * matrix[a, a],
                                   matrix[a, a], atol=1e-12)
    assert compared > 3


def test_a_supercell_has_the_primitive_cells_blocks(periodic_model, spd_basis):
    """Doubling the cell along a1 must not change any block: the model sees the same crystal."""
    structure = honeycomb(4)
    cell = structure.cell
    supercell = Structure(np.concatenate([structure.numbers] * 2),
                          np.concatenate([structure.positions, structure.positions + cell[0]]),
                          cell=np.stack([2 * cell[0], cell[1], cell[2]]), pbc=structure.pbc)
    primitive = _real_space(periodic_model, structure, spd_basis)
    doubled = _real_space(periodic_model, supercell, spd_basis)
    sizes = spd_basis.atom_orbital_offsets(supercell.numbers)
    n = sizes[2]
    checked = 0
    for (sx, sy, sz), matrix in doubled.items():
        for copy_row in range(2):
            for copy_col in range(2):
                rows = slice(sizes[2 * copy_row], sizes[2 * copy_row + 2])
                cols = slice(sizes[2 * copy_col], sizes[2 * copy_col + 2])
                primitive_r = (2 * sx + copy_col - copy_row, sy, sz)
                expected = primitive.get(primitive_r)
                block = matrix[rows, cols]
                if expected is None:
                    assert np.allclose(block, 0.0, atol=1e-12)
                    continue
                # atoms beyond the cutoff in one graph are absent (zero) in both
                np.testing.assert_allclose(block, expected[:n, :n], atol=1e-10)
                checked += 1
    assert checked > 10


def test_mace_layers_match_mace_forward_on_a_crystal(spd_basis):
    """Periodic message edges reach mace-torch's own MACE.forward as shifts: same node features."""
    from hamkit.components import BuildContext
    from hamkit.engine.batches import collate

    from .conftest import build_featurizer

    torch.manual_seed(0)
    featurizer = build_featurizer("mace", BuildContext(species=(5, 7), basis=spd_basis, dtype="float64"))
    batch = collate([structure_graph(honeycomb(6), spd_basis, 4.0)], torch.float64, torch.device("cpu"))
    with torch.no_grad():
        states = list(featurizer.forward_blocks(batch))
        inputs = featurizer.mace_inputs(batch)
        reference = featurizer.mace(inputs, compute_force=False)["node_feats"]
    ours = torch.cat([*states[-1].previous, states[-1].node], dim=-1)  # every layer, as MACE returns
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-12)
    assert bool((inputs["shifts"].abs().sum(dim=1) > 0).any()), "image edges expected"
    i, j = inputs["edge_index"]
    assert bool((i == j).any()), "self-image messages expected in a 2.5 A cell with a 3.5 A cutoff"


def test_mace_refuses_crystal_pairs_shorter_than_its_messages(spd_basis):
    from hamkit.components import BuildContext
    from hamkit.engine.batches import collate
    from hamkit.errors import HamkitError
    from hamkit_plugins.mace import MACEConfig, MACEFeaturizer

    featurizer = MACEFeaturizer.from_config(
        MACEConfig(channels=4, lmax=1, correlation=2, max_ell=1, cutoff=5.0, pair_cutoff=4.0, radial_mlp=[8]),
        BuildContext(species=(5, 7), basis=spd_basis, dtype="float64"))
    batch = collate([structure_graph(honeycomb(6), spd_basis, 4.0)], torch.float64, torch.device("cpu"))
    with pytest.raises(HamkitError, match="pair_cutoff >= cutoff"):
        featurizer(batch)
