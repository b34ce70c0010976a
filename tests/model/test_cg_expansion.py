"""The cg_expansion head with the qhnet featurizer: blocks, symmetry, equivariance, layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, Declared
from hamkit.components.features import EquivariantFeatures
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import labelled_graph
from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError
from hamkit.physics.blocks import matrix_to_blocks
from hamkit.physics.irreps import irreps_to_subblock
from hamkit.testing import (
    assert_hamiltonian_equivariant,
    assert_hamiltonian_symmetric,
    packed_to_matrix,
)
from hamkit.testing.graphs import block_layout, molecule_graph, orbital_permutation, permuted_graph
from hamkit.testing.molecules import hydroxymethyl
from hamkit_plugins.heads import CGExpansionHead
from hamkit_plugins.heads.expansion import pair_expansion

from tests.model.tiny_qhnet import build_model


def test_predicted_blocks_equivariant(basis, tiny_model, water_graph, ch2oh_graph):
    _, _, model = tiny_model
    for graph in (water_graph, ch2oh_graph):
        report = assert_hamiltonian_equivariant(model, graph, basis, rtol=1e-12)
        print(f"qhnet+cg_expansion H, {graph.z.tolist()}: max relative error {report.max_error:.1e}")
        assert {"rotation", "translation", "permutation"} <= set(report.errors)
        assert "inversion" in report.skipped


def test_output_matches_packed_label_layout(basis, tiny_model):
    """Same length and block order as graph.hamiltonian of a labelled graph."""
    _, _, model = tiny_model
    structure = hydroxymethyl()
    n = basis.total_orbitals(structure.numbers)
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(n, n))
    graph = labelled_graph(HamiltonianRecord(structure, matrix + matrix.T), basis)
    with torch.no_grad():
        predicted = model(graph)
    assert predicted.shape == graph.hamiltonian.shape
    # Elementwise correspondence: unpacking prediction and label with one layout.
    assert np.allclose(packed_to_matrix(graph.hamiltonian, graph, basis), matrix + matrix.T)
    blocks = matrix_to_blocks(packed_to_matrix(predicted, graph, basis), structure.numbers, basis)
    offsets = block_layout(graph, basis).offsets
    for position, (i, j) in enumerate(graph.block_index.T.tolist()):
        np.testing.assert_array_equal(
            predicted[offsets[position] : offsets[position + 1]].numpy(), blocks[(i, j)].ravel()
        )


def test_exactly_symmetric(basis, tiny_model, water_graph, ch2oh_graph):
    _, _, model = tiny_model
    for graph in (water_graph, ch2oh_graph):
        with torch.no_grad():
            assert assert_hamiltonian_symmetric(model(graph), graph, basis, atol=0.0) == 0.0


def test_batch_equals_single_molecules(tiny_model, water_graph, ch2oh_graph):
    _, _, model = tiny_model
    with torch.no_grad():
        batched = model(Batch.from_data_list([water_graph, ch2oh_graph]))
        singles = torch.cat([model(water_graph), model(ch2oh_graph)])
    assert batched.shape == singles.shape
    torch.testing.assert_close(batched, singles, rtol=0, atol=1e-12 * float(singles.abs().max()))


def test_atom_permutation_permutes_blocks(basis, tiny_model, ch2oh_graph):
    _, _, model = tiny_model
    permutation = [3, 0, 4, 2, 1]
    with torch.no_grad():
        reference = packed_to_matrix(model(ch2oh_graph), ch2oh_graph, basis)
        moved = permuted_graph(ch2oh_graph, permutation)
        permuted = packed_to_matrix(model(moved), moved, basis)
    index = orbital_permutation(ch2oh_graph.z.numpy(), basis, permutation)
    np.testing.assert_allclose(permuted, reference[np.ix_(index, index)], rtol=0, atol=1e-12 * np.abs(reference).max())


def test_basis_with_f_shells():
    basis = OrbitalBasis.from_shells({1: [0, 1], 6: [0, 1, 2, 3], 8: [0, 0, 1, 3]})
    _, _, model = build_model(basis, hidden=2, sh_lmax=3, lmax=6, bottleneck=2, num_layers=2, pair_start_layer=1)
    graph = molecule_graph(hydroxymethyl(), basis)
    report = assert_hamiltonian_equivariant(model, graph, basis, rtol=1e-12, n_rotations=2, n_permutations=1)
    print(f"f-shell basis: max relative error {report.max_error:.1e}")
    with torch.no_grad():
        matrix = packed_to_matrix(model(graph), graph, basis)
    # The f-f on-site sub-block of carbon (shell 3) uses L up to 6 and is non-zero.
    carbon_f = matrix[9:16, 9:16]
    assert np.abs(carbon_f).max() > 0


def test_missing_irreps_error_and_zero_mode(basis, water_graph):
    with pytest.raises(HamkitError, match=r"needs irreps 3e, 4e .*missing_irreps: zero"):
        build_model(basis, lmax=2)
    _, head, model = build_model(basis, lmax=2, head_options={"missing_irreps": "zero"})
    assert set(head.missing) == {"3e", "4e"}
    assert_hamiltonian_equivariant(model, water_graph, basis, rtol=1e-12, n_rotations=1, n_permutations=1)


def test_physical_parity_rejects_all_even_features(basis):
    with pytest.raises(HamkitError, match="1o.*parity: ignore"):
        build_model(basis, head_options={"parity": "physical"})


def test_pair_cutoff_smaller_than_molecule(basis):
    graph = molecule_graph(hydroxymethyl(), basis, cutoff=1.5)
    assert graph.pair_index.shape[1] < 20
    _, _, model = build_model(basis, cutoff=1.5, pair_cutoff=1.5)
    with torch.no_grad():
        packed = model(graph)
    assert packed.shape[0] == int(block_layout(graph, basis).offsets[-1])
    assert_hamiltonian_symmetric(packed, graph, basis)
    assert_hamiltonian_equivariant(model, graph, basis, rtol=1e-12, n_rotations=2, n_permutations=1)


def test_float32_and_gradients(basis, water_graph):
    featurizer, head, model = build_model(basis, dtype="float32")
    packed = model(water_graph)
    assert packed.dtype == torch.float32
    packed.square().mean().backward()
    used = ["onsite_8", "onsite_1", "pair_8_1", "pair_1_8", "pair_1_1"]
    assert all(p.grad is not None for key in used for p in head.maps[key].parameters())
    assert featurizer.embedding.weight.grad is not None


def test_onsite_bias_only_on_scalar_paths(basis, water_graph):
    """With zero features the on-site blocks equal the bias expanded on L = 0 paths: multiples of identity."""
    _, head, _ = build_model(basis)
    for key, linear in head.maps.items():
        if key.startswith("onsite"):
            with torch.no_grad():
                linear.bias.fill_(1.0)
    n_atoms, n_pairs = 3, water_graph.pair_index.shape[1]
    dim = o3.Irreps(head.node_irreps_in).dim
    zero = EquivariantFeatures(
        torch.zeros(n_atoms, dim, dtype=torch.float64), torch.zeros(n_pairs, dim, dtype=torch.float64),
        water_graph.pair_index, head.node_irreps_in, head.pair_irreps_in,
    )
    with torch.no_grad():
        matrix = packed_to_matrix(head(zero, water_graph)["hamiltonian"], water_graph, basis)
    oxygen = matrix[:14, :14]
    # s-s sub-blocks: constant 1; p-p and d-d: the L = 0 CG component, identity / sqrt(2l + 1).
    np.testing.assert_allclose(oxygen[0:3, 0:3], np.ones((3, 3)))
    np.testing.assert_allclose(oxygen[3:6, 3:6], np.eye(3) / np.sqrt(3))
    np.testing.assert_allclose(oxygen[9:14, 9:14], np.eye(5) / np.sqrt(5))
    assert np.abs(oxygen[0:3, 3:14]).max() == 0 and np.abs(matrix[:14, 14:]).max() == 0


def test_expansion_table_matches_physics_irreps(basis):
    """block = x @ E agrees with hamkit.physics.irreps.irreps_to_subblock, sub-block by sub-block."""
    table = pair_expansion(basis, 8, 1, "ignore", None)
    rng = np.random.default_rng(1)
    x = rng.normal(size=table.matrix.shape[0])
    block = (x @ table.matrix).reshape(14, 5)
    # Re-split x per irrep group, channel order = sub-block order (row shell major).
    pieces, start = {}, 0
    for count, (big_l, _) in table.irreps:
        width = 2 * big_l + 1
        pieces[big_l] = list(x[start : start + count * width].reshape(count, width))
        start += count * width
    rows, cols = basis.shell_slices(8), basis.shell_slices(1)
    for a, la in enumerate(basis.shell_ls(8)):
        for b, lb in enumerate(basis.shell_ls(1)):
            irreps = {big_l: pieces[big_l].pop(0) for big_l in range(abs(la - lb), la + lb + 1)}
            np.testing.assert_allclose(block[rows[a], cols[b]], irreps_to_subblock(irreps, la, lb), atol=1e-14)


def test_head_needs_declared_irreps_and_basis(basis):
    with pytest.raises(HamkitError, match="node_irreps, pair_irreps"):
        CGExpansionHead.from_config(CGExpansionHead.Config(), BuildContext(basis=basis))
    with pytest.raises(HamkitError, match="basis"):
        CGExpansionHead.from_config(
            CGExpansionHead.Config(), BuildContext(declared=Declared(node_irreps="1x0e", pair_irreps="1x0e"))
        )


def test_missing_reverse_pair_is_an_error(basis, tiny_model, water_graph):
    featurizer, head, _ = tiny_model
    graph = water_graph.clone()
    graph.pair_index = graph.pair_index[:, 1:]
    graph.block_index = torch.cat([graph.block_index[:, :3], graph.pair_index], dim=1)
    with pytest.raises(HamkitError, match="both directions"):
        head(featurizer(graph), graph)


def test_float32_model_cast_to_float64_stays_exactly_equivariant(basis, water_graph):
    """CG constants are float64 masters, not buffers rounded by the float32 build."""
    featurizer, head, _ = build_model(basis, dtype="float32")
    featurizer, head = featurizer.double(), head.double()
    assert_hamiltonian_equivariant(lambda g: head(featurizer(g), g), water_graph, basis, rtol=1e-12)
