"""The qhnet featurizer: equivariance, block-by-block running, options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.testing import assert_features_equivariant
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl
from hamkit_plugins.qhnet import QHNetFeaturizer
from hamkit_plugins.qhnet.so3 import SO3TensorProduct

from tests.model.tiny_qhnet import TINY


def make(basis, dtype="float64", **options):
    torch.manual_seed(0)
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)
    return QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**{**TINY, **options}), context)


@pytest.mark.parametrize("radial_basis", ["gaussian", "bessel"])
def test_features_equivariant(basis, water_graph, ch2oh_graph, radial_basis):
    featurizer = make(basis, hidden=8, sh_lmax=2, lmax=2, radial_basis=radial_basis)
    for graph in (water_graph, ch2oh_graph):
        report = assert_features_equivariant(featurizer, graph, rtol=1e-12)
        print(f"qhnet({radial_basis}) features, {graph.z.tolist()}: max relative error {report.max_error:.1e}")
        assert set(report.errors) >= {"node/rotation", "pair/rotation", "node/translation", "pair/permutation"}


def test_declares_all_even_irreps(basis):
    featurizer = make(basis, hidden=8, sh_lmax=2, lmax=3)
    assert featurizer.node_irreps == featurizer.pair_irreps == "8x0e+8x1e+8x2e+8x3e"


def test_default_lmax_covers_the_basis(basis):
    """lmax None: twice the basis' highest shell degree (d-d blocks need L = 4), at least sh_lmax."""
    options = {**TINY, "lmax": None, "sh_lmax": 2}
    with_basis = QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**options), BuildContext(basis=basis))
    assert with_basis.node_irreps.endswith("4x4e")
    without = QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**options), BuildContext(species=(1, 8)))
    assert without.node_irreps.endswith("4x2e")


def test_default_config_matches_qhnet():
    config = QHNetFeaturizer.Config()
    assert (config.hidden, config.sh_lmax, config.num_layers, config.pair_start_layer) == (128, 4, 5, 3)
    assert config.pair_cutoff is None


def test_forward_blocks_yields_each_block_and_matches_forward(basis, ch2oh_graph):
    featurizer = make(basis)
    states = list(featurizer.forward_blocks(ch2oh_graph))
    assert [s.layer for s in states] == [1, 2, 3]
    assert len(featurizer.blocks) == 3
    assert [block.with_pairs for block in featurizer.blocks] == [False, True, True]
    assert torch.count_nonzero(states[0].pair_features) == 0  # pairs start at block 2
    final = featurizer.features(states[-1])
    out = featurizer(ch2oh_graph)
    assert torch.equal(final.node, out.node) and torch.equal(final.pair, out.pair)


def test_forward_blocks_state_edits_reach_the_next_block(basis, water_graph):
    """What TraceGrad does: replace the features after a block, continue with the rest."""
    featurizer = make(basis)
    plain = featurizer(water_graph)
    edited = None
    for state in featurizer.forward_blocks(water_graph):
        if state.layer == 2:
            state.node = 2.0 * state.node
            state.pair_features = state.pair_features + 1.0
        edited = state
    out = featurizer.features(edited)
    assert not torch.allclose(out.node, plain.node)
    assert not torch.allclose(out.pair, plain.pair)


def test_double_backward_through_features(basis, water_graph):
    """The gradient inducer differentiates an invariant of the features with create_graph."""
    featurizer = make(basis)
    states = list(featurizer.forward_blocks(water_graph))
    features = states[1].pair_features
    invariant = features.square().sum()
    (gradient,) = torch.autograd.grad(invariant, features, create_graph=True)
    gradient.sum().backward()
    assert featurizer.blocks[0].conv.weights[0].weight.grad is not None


def test_pair_cutoff_smaller_than_molecule(basis):
    graph = molecule_graph(hydroxymethyl(), basis, cutoff=1.5)
    n_pairs = graph.pair_index.shape[1]
    assert 0 < n_pairs < 20  # not fully connected
    featurizer = make(basis, cutoff=1.5, pair_cutoff=1.5)
    out = featurizer(graph)
    assert out.pair.shape[0] == n_pairs
    assert_features_equivariant(featurizer, graph, rtol=1e-12)


def test_message_cutoff_filters_pairs(basis, ch2oh_graph):
    """Message passing only uses the graph's pairs closer than cutoff; pair features use all."""
    featurizer = make(basis, cutoff=1.5)
    geometry = featurizer.geometry(ch2oh_graph)
    pos = ch2oh_graph.pos
    distance = (pos[geometry.message_index[1]] - pos[geometry.message_index[0]]).norm(dim=-1)
    assert (distance < 1.5).all()
    assert geometry.message_index.shape[1] < geometry.pair_index.shape[1] == 20


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype(basis, water_graph, dtype):
    out = make(basis, dtype=dtype)(water_graph)
    assert out.node.dtype == out.pair.dtype == getattr(torch, dtype)


def test_unknown_element_is_an_error(basis, water_graph):
    featurizer = QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**TINY), BuildContext(species=(1, 6)))
    with pytest.raises(HamkitError, match=r"Z=\[8\]"):
        featurizer(water_graph)


def test_invalid_options():
    with pytest.raises(ValidationError, match="pair_start_layer"):
        QHNetFeaturizer.Config(num_layers=2, pair_start_layer=3)
    with pytest.raises(ValidationError):
        QHNetFeaturizer.Config(hiden=3)  # unknown option
    with pytest.raises(ValidationError):
        QHNetFeaturizer.Config(radial_basis="spline")


def test_tensor_product_is_equivariant():
    """Unit check of the hand-written CG tensor product against e3nn's Wigner matrices."""
    from e3nn import o3

    torch.manual_seed(0)
    tp = SO3TensorProduct(2, 2, 3, 2, "uuu", internal_weights=True).double()
    rotation = o3.rand_matrix(dtype=torch.float64)
    x = [torch.randn(4, 2, 2 * l + 1, dtype=torch.float64) for l in range(3)]
    y = [torch.randn(4, 2, 2 * l + 1, dtype=torch.float64) for l in range(3)]

    def rotate(features):
        return [f @ o3.Irrep(l, 1).D_from_matrix(rotation).T for l, f in enumerate(features)]

    for a, b in zip(tp(rotate(x), rotate(y)), rotate(tp(x, y))):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-13)


def test_pair_features_fade_at_pair_cutoff(basis):
    """With pair_cutoff, a pair just inside it has nearly zero pair features (smooth in distance)."""
    from hamkit.data.structure import Structure

    featurizer = make(basis, pair_cutoff=2.0)
    for separation, bound in ((1.999, 1e-5), (1.0, None)):
        graph = molecule_graph(Structure([8, 1], [[0.0, 0.0, 0.0], [separation, 0.1, 0.0]]), basis)
        pair = featurizer(graph).pair
        if bound is None:
            assert pair.abs().max() > 1e-3
        else:
            assert pair.abs().max() < bound
