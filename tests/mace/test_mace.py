"""The mace featurizer: real MACE inside, equivariance, batching, options, lazy import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch_geometric.data import Batch

from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.testing import (
    assert_features_equivariant,
    assert_hamiltonian_equivariant,
    assert_hamiltonian_symmetric,
)
from hamkit.testing.contracts import FeaturizerContract
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl
from hamkit_plugins.mace import MACEConfig, MACEFeaturizer

from tests.mace.tiny_model import TINY, build_mace, build_model


def context_of(basis, dtype="float64"):
    return BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)


# ----------------------------------------------------------------------------- contract
class TestMACEFeaturizerContract(FeaturizerContract):
    """Shapes, both dtypes, equivariance, batch == singles, on water and CH2OH (def2-SVP)."""

    rtol = 1e-11

    @pytest.fixture
    def contract_basis(self, svp):
        return svp

    @pytest.fixture
    def featurizer_factory(self):
        return build_mace


# ----------------------------------------------------------------------------- the real MACE
def test_wraps_the_real_mace_class(svp):
    import mace.modules

    featurizer = build_mace(context_of(svp))
    assert isinstance(featurizer.mace, mace.modules.MACE)
    assert featurizer.mace.use_so3
    assert str(featurizer.hidden_irreps) == "4x0e+4x1e+4x2e"
    # keep_last_layer_irreps: every layer keeps all degrees
    assert [str(p.linear.irreps_out) for p in featurizer.mace.products] == ["4x0e+4x1e+4x2e"] * 2
    assert len(featurizer.mace.readouts) == 0  # unused energy readouts dropped
    assert featurizer.node_irreps == featurizer.pair_irreps == "4x0e+4x1e+4x2e+4x3e+4x4e"
    assert featurizer.mace.atomic_numbers.tolist() == [1, 6, 8]


def test_layers_match_mace_forward(svp, water_graph, ch2oh_graph):
    """Our layer-by-layer run is exactly MACE.forward's node_feats, on a batch of two molecules."""
    featurizer = build_mace(context_of(svp), node_layers="all")
    batch = Batch.from_data_list([water_graph, ch2oh_graph])
    with torch.no_grad():
        states = list(featurizer.forward_blocks(batch))
    ours = torch.cat([*states[-1].previous, states[-1].node], dim=-1)
    inputs = featurizer.mace_inputs(batch)
    assert inputs["positions"].data_ptr() != batch.pos.data_ptr()
    reference = featurizer.mace(inputs, compute_force=False)["node_feats"]
    assert not batch.pos.requires_grad  # MACE.forward only touched our clone
    torch.testing.assert_close(ours, reference.detach(), rtol=0, atol=1e-13)
    # message edges: same-structure pairs within the cutoff, both directions
    edges = inputs["edge_index"]
    assert bool((inputs["batch"][edges[0]] == inputs["batch"][edges[1]]).all())
    assert edges.shape[1] == 3 * 2 + 5 * 4


def test_node_layers_all_is_equivariant(svp, ch2oh_graph):
    featurizer = build_mace(context_of(svp), node_layers="all")
    report = assert_features_equivariant(featurizer, ch2oh_graph, rtol=1e-11)
    print(f"mace(node_layers=all) features: max relative error {report.max_error:.1e}")


# ----------------------------------------------------------------------------- equivariance
@pytest.mark.parametrize("graph_name", ["water_graph", "ch2oh_graph"])
def test_features_equivariant(svp, graph_name, request):
    graph = request.getfixturevalue(graph_name)
    report = assert_features_equivariant(build_mace(context_of(svp)), graph, rtol=1e-11)
    print(f"mace features {graph.z.tolist()}: max relative error {report.max_error:.1e}\n{report}")
    assert set(report.errors) >= {"node/rotation", "pair/rotation", "node/permutation", "pair/translation"}


@pytest.mark.parametrize("graph_name", ["water_graph", "ch2oh_graph"])
def test_hamiltonian_equivariant_and_symmetric(svp, graph_name, request):
    graph = request.getfixturevalue(graph_name)
    _, _, model = build_model(svp)
    report = assert_hamiltonian_equivariant(model, graph, svp, rtol=1e-11)
    print(f"mace + cg_expansion H {graph.z.tolist()}: max relative error {report.max_error:.1e}")
    with torch.no_grad():
        packed = model(graph)
    assert float(packed.abs().max()) > 1e-3  # not trivially zero
    assert assert_hamiltonian_symmetric(packed, graph, svp, atol=0.0) == 0.0


def test_hamiltonian_batch_matches_single(svp, water_graph, ch2oh_graph):
    _, _, model = build_model(svp)
    with torch.no_grad():
        batched = model(Batch.from_data_list([water_graph, ch2oh_graph]))
        singles = torch.cat([model(water_graph), model(ch2oh_graph)])
    scale = float(singles.abs().max())
    np.testing.assert_allclose(batched.numpy(), singles.numpy(), rtol=0, atol=1e-12 * scale)


def test_o3_symmetry_is_inversion_equivariant(svp, water_graph):
    """Both parities: O(3)-equivariant features; the head can then match parities physically."""
    featurizer, _, model = build_model(svp, head_options={"parity": "physical"}, symmetry="o3", lmax=1)
    assert not featurizer.mace.use_so3
    assert featurizer.node_irreps.startswith("4x0e+4x0o+4x1e+4x1o")
    report = assert_features_equivariant(featurizer, water_graph, rtol=1e-11, check_inversion=True)
    assert "node/inversion" in report.errors
    report = assert_hamiltonian_equivariant(model, water_graph, svp, rtol=1e-11, check_inversion=True)
    print(f"mace(o3) + cg_expansion(physical) H: max relative error {report.max_error:.1e}")


def test_float32_build_cast_to_float64_keeps_exact_constants(svp, water_graph):
    """Constant buffers (CG tables, MACE's U matrices) are restored in float64 after a float32 trip."""
    featurizer = build_mace(context_of(svp, "float32"), cache=False)
    assert featurizer(water_graph).node.dtype == torch.float32
    featurizer = featurizer.double()
    assert_features_equivariant(featurizer, water_graph, rtol=1e-11)


# ----------------------------------------------------------------------------- running
def test_forward_blocks_and_state_edits(svp, water_graph):
    featurizer = build_mace(context_of(svp))
    assert len(featurizer.blocks) == 2
    states = list(featurizer.forward_blocks(water_graph))
    assert [s.layer for s in states] == [1, 2]
    plain = featurizer(water_graph)
    final = featurizer.features(states[-1])
    assert torch.equal(final.node, plain.node) and torch.equal(final.pair, plain.pair)
    edited = None
    for state in featurizer.forward_blocks(water_graph):
        if state.layer == 1:
            state.node = 2.0 * state.node
        edited = state
    assert not torch.allclose(featurizer.features(edited).node, plain.node)


def test_double_backward_through_features(svp, water_graph):
    """What the gradient inducer does: grad of an invariant with create_graph, then backward."""
    featurizer = build_mace(context_of(svp), cache=False)
    features = featurizer(water_graph).pair
    (gradient,) = torch.autograd.grad(features.square().sum(), features, create_graph=True)
    (gradient * features).sum().backward()
    weight = featurizer.mace.interactions[0].conv_tp_weights.layer0.weight
    assert weight.grad is not None and bool(torch.isfinite(weight.grad).all())


def test_pair_cutoff(svp):
    graph = molecule_graph(hydroxymethyl(), svp, cutoff=1.5)
    assert 0 < graph.pair_index.shape[1] < 20
    featurizer = build_mace(context_of(svp), pair_cutoff=1.5)
    assert featurizer.pair_cutoff == 1.5
    assert build_mace(context_of(svp)).pair_cutoff is None
    out = featurizer(graph)
    assert out.pair.shape[0] == graph.pair_index.shape[1]
    assert_features_equivariant(featurizer, graph, rtol=1e-11)
    # MACE's messages still use its own cutoff (5 A), not the graph's pairs
    assert featurizer.mace_inputs(graph)["edge_index"].shape[1] == 20


def test_unknown_element_is_an_error(svp, water_graph):
    featurizer = build_mace(BuildContext(species=(1, 6), dtype="float64"))
    with pytest.raises(HamkitError, match=r"Z=\[8\]"):
        featurizer(water_graph)


# ----------------------------------------------------------------------------- options
def test_config_rejects_unknown_and_impossible_options():
    with pytest.raises(ValidationError):
        MACEConfig(chanels=8)  # unknown option
    with pytest.raises(ValidationError, match="wigner_3j"):
        MACEConfig(correlation=3, max_ell=4)
    with pytest.raises(ValidationError, match="wigner_3j"):
        MACEConfig(correlation=2, max_ell=6)
    with pytest.raises(ValidationError, match="num_interactions"):
        MACEConfig(num_interactions=1)
    with pytest.raises(ValidationError, match="cannot produce degree-4"):
        MACEConfig(lmax=4, correlation=1, max_ell=3)
    with pytest.raises(ValidationError):
        MACEConfig(symmetry="o2")
    MACEConfig(correlation=3, max_ell=3, lmax=4)  # fine: the limit is correlation x max_ell
    MACEConfig(correlation=2, max_ell=5, lmax=4)
    with pytest.raises(ValidationError, match="radial_mlp"):
        MACEConfig(radial_mlp=[8, 0])


def test_impossible_options_are_a_hamkit_error_when_building():
    config = MACEConfig.model_construct(**{**MACEConfig().model_dump(), **TINY, "correlation": 3, "max_ell": 4})
    with pytest.raises(HamkitError, match="correlation x max_ell = 12"):
        MACEFeaturizer(config, species=(1, 8))
    with pytest.raises(HamkitError, match="no elements"):
        MACEFeaturizer(MACEConfig(**TINY), species=())


def test_out_lmax_defaults_to_twice_the_basis_degree(svp):
    assert build_mace(context_of(svp)).out_lmax == 4
    assert build_mace(BuildContext(species=(1, 8), dtype="float64")).out_lmax == 2  # no basis: lmax
    assert build_mace(context_of(svp), out_lmax=3, out_channels=2).node_irreps == "2x0e+2x1e+2x2e+2x3e"


def test_registered_through_hooks():
    import hamkit_plugins.mace as mace_plugin
    from hamkit.plugin_host import load_plugins

    host = load_plugins(extra_plugins={"mace": mace_plugin}, environ={"HAMKIT_PLUGINS": "mace"})
    assert host.problems == []
    record = host.registry.get("featurizer", "mace")
    assert record.cls is MACEFeaturizer and record.provider.plugin == "mace"
    assert record.summary.startswith("MACE")
    options = {option["name"]: option for option in record.options()}
    for name in ("channels", "lmax", "num_interactions", "correlation", "cutoff", "num_radial",
                 "pair_cutoff", "max_ell", "symmetry"):
        assert options[name]["description"], name
    assert options["pair_cutoff"]["default"] is None


def test_importing_the_plugin_does_not_import_mace(tmp_path):
    """Listing plugins must stay cheap; building imports mace and restores its env change."""
    script = textwrap.dedent(
        """
        import os, sys
        import hamkit_plugins.mace as plugin
        assert not any(m == "mace" or m.startswith("mace.") for m in sys.modules), "mace imported"
        from hamkit.components import BuildContext
        config = plugin.MACEConfig(channels=2, lmax=1, correlation=1, max_ell=1, radial_mlp=[4],
                                   bottleneck=1, pair_hidden=4, num_radial=2)
        plugin.MACEFeaturizer.from_config(config, BuildContext(species=(1, 8)))
        assert "mace" in sys.modules
        assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ, "mace's env change leaked"
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
