"""deeph_e3 + cg_expansion on def2-SVP molecules: equivariant, exactly symmetric, batchable."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from hamkit.components import BuildContext
from hamkit.testing import assert_hamiltonian_equivariant, assert_hamiltonian_symmetric
from hamkit.testing.contracts import FeaturizerContract, HeadContract
from hamkit_plugins.deeph_e3 import DeepHE3Featurizer
from hamkit_plugins.heads import CGExpansionHead

from tests.deeph_e3.tiny_model import TINY, build_model


@pytest.mark.parametrize(
    ("parity", "head_parity"), [("physical", "physical"), ("physical", "ignore"), ("so3", "ignore")]
)
def test_hamiltonian_equivariant_and_symmetric(svp, water_graph, ch2oh_graph, parity, head_parity):
    """H(Q x) = D H D^T (with inversion for physical/physical), permutations, H = H^T exactly."""
    _, _, model = build_model(svp, head_parity=head_parity, parity=parity)
    inversion = parity == "physical" and head_parity == "physical"
    for graph in (water_graph, ch2oh_graph):
        report = assert_hamiltonian_equivariant(model, graph, svp, rtol=1e-10, check_inversion=inversion)
        with torch.no_grad():
            asymmetry = assert_hamiltonian_symmetric(model(graph), graph, svp, atol=0.0)
        print(f"deeph_e3({parity}) + cg_expansion({head_parity}), Z={graph.z.tolist()}: "
              f"max relative error {report.max_error:.1e} ({', '.join(sorted(report.errors))}); "
              f"|H - H^T| = {asymmetry}")
        assert asymmetry == 0.0
        if inversion:
            assert "inversion" in report.errors


def test_hamiltonian_batch_matches_single(svp, water_graph, ch2oh_graph):
    _, _, model = build_model(svp)
    with torch.no_grad():
        batched = model(Batch.from_data_list([water_graph, ch2oh_graph]))
        singles = torch.cat([model(water_graph), model(ch2oh_graph)])
    error = float((batched - singles).abs().max() / singles.abs().max())
    print(f"deeph_e3 + cg_expansion batch vs single: max relative difference {error:.1e}")
    assert error < 1e-12


def test_default_config_fits_def2svp_through_cg_expansion(svp, water_graph):
    """The default (physical parity, both parities) provides every irrep def2-SVP blocks need."""
    context = BuildContext(species=tuple(svp.elements), basis=svp, dtype="float32")
    featurizer = DeepHE3Featurizer.from_config(DeepHE3Featurizer.Config(), context)
    assert featurizer.node_irreps == featurizer.pair_irreps == (
        "64x0e+32x1o+32x1e+16x2o+16x2e+8x3o+8x3e+8x4o+8x4e"
    )
    assert featurizer.pair_cutoff == 7.2
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    for parity in ("physical", "ignore"):
        head = CGExpansionHead.from_config(CGExpansionHead.Config(parity=parity), context)
        assert head.missing == {}
    with torch.no_grad():
        packed = head(featurizer(water_graph), water_graph)["hamiltonian"]
    assert packed.numel() == 24 * 24  # water, fully connected: every block of the 24 x 24 matrix
    assert torch.isfinite(packed).all()


def _tiny(context):
    return DeepHE3Featurizer.from_config(DeepHE3Featurizer.Config(**TINY), context)


class TestDeepHE3FeaturizerContract(FeaturizerContract):
    @pytest.fixture
    def featurizer_factory(self):
        return _tiny


class TestCGExpansionOnDeepHE3Contract(HeadContract):
    """The head contract (layout, exact symmetry, equivariance, batching) on deeph_e3 features."""

    @pytest.fixture
    def featurizer_factory(self):
        return _tiny

    @pytest.fixture
    def head_factory(self):
        return lambda context: CGExpansionHead.from_config(CGExpansionHead.Config(parity="physical"), context)
