"""deeph_e3 features: E(3)/SO(3) equivariance, periodic shifts, cutoff, block-by-block running."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.data.structure import Structure
from hamkit.physics.frames import e3nn_rotation
from hamkit.physics.rotation import random_rotation
from hamkit.testing import assert_features_equivariant
from hamkit.testing.graphs import molecule_graph

from tests.deeph_e3.tiny_model import make_featurizer


@pytest.mark.parametrize("parity", ["physical", "so3"])
def test_features_equivariant(svp, water_graph, ch2oh_graph, parity):
    """Rotations, translations, permutations; inversion too with physical parity."""
    featurizer = make_featurizer(svp, parity=parity)
    for graph in (water_graph, ch2oh_graph):
        report = assert_features_equivariant(
            featurizer, graph, rtol=1e-12, check_inversion=parity == "physical"
        )
        print(f"deeph_e3({parity}) features, Z={graph.z.tolist()}: max relative error "
              f"{report.max_error:.1e}; " + ", ".join(f"{k} {v:.1e}" for k, v in report.errors.items()))
        expected = {"node/rotation", "pair/rotation", "node/translation", "pair/permutation"}
        if parity == "physical":
            expected |= {"node/inversion", "pair/inversion"}
        assert set(report.errors) >= expected


def test_so3_features_are_not_parity_equivariant(svp, ch2oh_graph):
    """Negative control: the inversion check must catch an SO(3)-only model."""
    featurizer = make_featurizer(svp, parity="so3")
    with pytest.raises(AssertionError, match="inversion"):
        assert_features_equivariant(featurizer, ch2oh_graph, rtol=1e-6, check_inversion=True)


def test_unnatural_parity_channels_are_filled(svp, ch2oh_graph):
    """With both parities, 1e / 2o channels (p-p, p-d sub-blocks) carry signal at the outputs."""
    featurizer = make_featurizer(svp)
    out = featurizer(ch2oh_graph)
    for features, irreps in ((out.node, out.node_irreps), (out.pair, out.pair_irreps)):
        parsed = o3.Irreps(irreps)
        for (_mul, ir), sl in zip(parsed, parsed.slices()):
            if str(ir) in ("1e", "2o", "3e"):
                assert features[:, sl].abs().max() > 1e-3, f"{ir} is empty"


def _orthogonal_d(irreps: str, matrix: np.ndarray) -> torch.Tensor:
    return o3.Irreps(irreps).D_from_matrix(torch.from_numpy(e3nn_rotation(matrix)))


def periodic_chain(cutoff: float) -> Data:
    """O-H chain along a skew lattice vector: pairs (i, j, n) within ``cutoff``, shifts n a (Angstrom)."""
    lattice = np.array([3.1, 0.2, -0.4])
    pos = np.array([[0.0, 0.0, 0.0], [0.9, 0.3, 0.1]])
    pairs, shifts = [], []
    for i in range(2):
        for j in range(2):
            for n in range(-3, 4):
                if i == j and n == 0:
                    continue
                shift = n * lattice
                if np.linalg.norm(pos[j] + shift - pos[i]) < cutoff:
                    pairs.append((i, j))
                    shifts.append(shift)
    return Data(
        z=torch.tensor([8, 1]), pos=torch.tensor(pos), pair_index=torch.tensor(pairs).T,
        pair_shift=torch.tensor(np.array(shifts)), num_nodes=2,
    )


def test_pair_shift_is_used(svp):
    """r_ij = pos_j - pos_i + pair_shift: shifting j's position instead gives the same features."""
    featurizer = make_featurizer(svp, cutoff=4.0)
    shift = torch.tensor([2.5, -0.7, 0.4], dtype=torch.float64)
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.3, 0.4, -0.2]], dtype=torch.float64)
    pairs = torch.tensor([[0, 1], [1, 0]])
    shifted = Data(z=torch.tensor([8, 1]), pos=pos, pair_index=pairs,
                   pair_shift=torch.stack([shift, -shift]), num_nodes=2)
    moved = Data(z=torch.tensor([8, 1]), pos=torch.stack([pos[0], pos[1] + shift]),
                 pair_index=pairs, num_nodes=2)
    unshifted = Data(z=torch.tensor([8, 1]), pos=pos, pair_index=pairs, num_nodes=2)
    a, b, c = featurizer(shifted), featurizer(moved), featurizer(unshifted)
    torch.testing.assert_close(a.node, b.node, rtol=0, atol=1e-12)
    torch.testing.assert_close(a.pair, b.pair, rtol=0, atol=1e-12)
    assert (a.pair - c.pair).abs().max() > 1e-3


def _periodic_errors(featurizer, graph: Data) -> list[float]:
    reference = featurizer(graph)
    scale = float(reference.pair.abs().max())
    rng = np.random.default_rng(1)
    errors = []
    for invert in (False, True):
        rotation = random_rotation(rng) * (-1.0 if invert else 1.0)
        moved = graph.clone()
        matrix = torch.from_numpy(rotation)
        moved.pos = graph.pos @ matrix.T
        moved.pair_shift = graph.pair_shift @ matrix.T
        out = featurizer(moved)
        for got, want, irreps in ((out.node, reference.node, out.node_irreps),
                                  (out.pair, reference.pair, out.pair_irreps)):
            errors.append(float((got - want @ _orthogonal_d(irreps, rotation).T).abs().max()) / scale)
    lattice = torch.tensor([3.1, 0.2, -0.4], dtype=torch.float64)
    translated = graph.clone()
    translated.pos = graph.pos.clone()
    translated.pos[1] += lattice
    i, j = graph.pair_index
    translated.pair_shift = graph.pair_shift - (j == 1)[:, None] * lattice + (i == 1)[:, None] * lattice
    out = featurizer(translated)
    errors.append(float((out.pair - reference.pair).abs().max()) / scale)
    errors.append(float((out.node - reference.node).abs().max()) / scale)
    return errors


def test_periodic_graph_equivariant_and_lattice_invariant(svp):
    """Periodic images (incl. self-images i == j): O(3) equivariance with rotated shifts, and
    moving an atom by a lattice vector (shifts compensated) changes nothing."""
    featurizer = make_featurizer(svp, cutoff=4.0)
    graph = periodic_chain(4.0)
    assert bool((graph.pair_index[0] == graph.pair_index[1]).any())  # self-images present
    with torch.no_grad():
        errors = _periodic_errors(featurizer, graph)
    print(f"deeph_e3 periodic chain ({graph.pair_index.shape[1]} pairs): max relative error {max(errors):.1e}")
    assert max(errors) < 1e-12


def test_pair_shift_shape_is_checked(svp):
    graph = periodic_chain(4.0)
    graph.pair_shift = graph.pair_shift[:-1]
    with pytest.raises(hamkit.errors.HamkitError, match="pair_shift"):
        make_featurizer(svp, cutoff=4.0)(graph)


def test_pairs_fade_at_the_cutoff_and_vanish_beyond(svp):
    featurizer = make_featurizer(svp, cutoff=2.0)
    for separation, bound in ((1.999, 1e-4), (1.0, None)):
        graph = molecule_graph(Structure([8, 1], [[0.0, 0.0, 0.0], [separation, 0.1, 0.0]]), svp)
        pair = featurizer(graph).pair
        assert pair.abs().max() > 1e-3 if bound is None else pair.abs().max() < bound
    far = molecule_graph(Structure([8, 1], [[0.0, 0.0, 0.0], [2.5, 0.1, 0.0]]), svp)
    alone = molecule_graph(Structure([8], [[0.0, 0.0, 0.0]]), svp)
    out = featurizer(far)
    assert torch.count_nonzero(out.pair) == 0
    torch.testing.assert_close(out.node[:1], featurizer(alone).node, rtol=0, atol=1e-14)
    hard = make_featurizer(svp, cutoff=2.0, pair_envelope=False)
    assert hard(far).pair.abs().max() > 1e-3  # DeepH-E3's hard cutoff: the graph decides


def _with_zero_shifts(graph) -> Data:
    """Just the featurizer's inputs, with explicit zero pair shifts (to batch with periodic graphs)."""
    return Data(z=graph.z, pos=graph.pos, pair_index=graph.pair_index,
                pair_shift=torch.zeros(graph.pair_index.shape[1], 3, dtype=torch.float64),
                num_nodes=graph.z.shape[0])


def test_batch_matches_single(svp, water_graph, ch2oh_graph):
    """Molecules and a periodic graph batched together (pair_shift is concatenated)."""
    featurizer = make_featurizer(svp, cutoff=4.0)
    graphs = [_with_zero_shifts(water_graph), periodic_chain(4.0), _with_zero_shifts(ch2oh_graph)]
    with torch.no_grad():
        batched = featurizer(Batch.from_data_list(graphs))
        singles = [featurizer(g) for g in graphs]
    for key in ("node", "pair"):
        single = torch.cat([getattr(s, key) for s in singles])
        error = float((getattr(batched, key) - single).abs().max() / single.abs().max())
        print(f"deeph_e3 batch vs single ({key}): max relative difference {error:.1e}")
        assert error < 1e-12


def test_forward_blocks_yields_after_each_edge_update(svp, ch2oh_graph):
    featurizer = make_featurizer(svp, num_blocks=3)
    states = list(featurizer.forward_blocks(ch2oh_graph))
    assert [s.layer for s in states] == [1, 2, 3] and len(featurizer.blocks) == 3
    dims = (o3.Irreps(featurizer.node_irreps).dim, o3.Irreps(featurizer.pair_irreps).dim)
    for state in states:
        assert (state.node.shape[1], state.pair.shape[1]) == dims
        assert state.self_features is state.node and state.pair_features is state.pair
    final, out = featurizer.features(states[-1]), featurizer(ch2oh_graph)
    assert torch.equal(final.node, out.node) and torch.equal(final.pair, out.pair)


def test_forward_blocks_state_edits_reach_the_next_block(svp, water_graph):
    """What TraceGrad does after each edge update block: replace features, continue."""
    featurizer = make_featurizer(svp)
    plain = featurizer(water_graph)
    edited = None
    for state in featurizer.forward_blocks(water_graph):
        if state.layer == 2:
            state.pair_features = state.pair_features + 0.5  # alias of state.pair
        edited = state
    out = featurizer.features(edited)
    assert not torch.allclose(out.node, plain.node)
    assert not torch.allclose(out.pair, plain.pair)


def test_double_backward_through_block_features(svp, water_graph):
    """The gradient inducer differentiates an invariant of the features with create_graph."""
    featurizer = make_featurizer(svp)
    states = list(featurizer.forward_blocks(water_graph))
    features = states[1].pair
    (gradient,) = torch.autograd.grad(features.square().sum(), features, create_graph=True)
    gradient.sum().backward()
    assert featurizer.blocks[0].edge_update.conv.weights[0].weight.grad is not None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype(svp, water_graph, dtype):
    out = make_featurizer(svp, dtype=dtype)(water_graph)
    assert out.node.dtype == out.pair.dtype == getattr(torch, dtype)
    assert torch.isfinite(out.node).all() and torch.isfinite(out.pair).all()


def test_single_atom(svp):
    graph = molecule_graph(Structure([8], [[0.0, 0.0, 0.0]]), svp)
    out = make_featurizer(svp)(graph)
    assert out.node.shape[0] == 1 and out.pair.shape[0] == 0
