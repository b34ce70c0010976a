"""Contract tests of the ``featurizer`` kind: irreps declared, shapes, dtypes, equivariance, batching.

The factory receives a :class:`~hamkit.components.BuildContext` (species, basis, dtype).
The structures are small distorted molecules in a def2-SVP-shaped basis (override
``contract_basis``/``contract_structures`` to change them).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch_geometric.data import Batch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, Featurizer
from hamkit.testing.contracts.fixtures import DTYPES, StructuresMixin, contract_context
from hamkit.testing.equivariance import assert_features_equivariant


class FeaturizerContract(StructuresMixin):
    """Contract tests of a featurizer: irreps declared, shapes, dtypes, equivariance, batching.

    Override ``featurizer_factory`` (``BuildContext -> Featurizer``).
    """

    @pytest.fixture
    def featurizer_factory(self) -> Callable[[BuildContext], Featurizer]:
        """Override: return a callable building the featurizer under test from a context."""
        pytest.fail("override the featurizer_factory fixture in your FeaturizerContract subclass")

    def test_declares_irreps(self, featurizer_factory, contract_basis):
        featurizer = featurizer_factory(contract_context(contract_basis, "float64"))
        assert isinstance(featurizer, Featurizer)
        for attribute in ("node_irreps", "pair_irreps"):
            value = getattr(featurizer, attribute, None)
            assert isinstance(value, str), f"{attribute} must be an e3nn irreps string, got {value!r}"
            assert o3.Irreps(value).dim > 0, f"{attribute} '{value}' is empty"

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_shapes_and_dtype(self, featurizer_factory, contract_basis, contract_graphs, dtype):
        featurizer = featurizer_factory(contract_context(contract_basis, dtype))
        for graph in contract_graphs:
            with torch.no_grad():
                out = featurizer(graph)
            n_atoms, n_pairs = graph.z.shape[0], graph.pair_index.shape[1]
            assert out.node.shape == (n_atoms, o3.Irreps(featurizer.node_irreps).dim)
            assert out.pair.shape == (n_pairs, o3.Irreps(featurizer.pair_irreps).dim)
            assert out.node.dtype == out.pair.dtype == getattr(torch, dtype)
            assert torch.equal(out.pair_index, graph.pair_index)
            assert (out.node_irreps, out.pair_irreps) == (featurizer.node_irreps, featurizer.pair_irreps)
            assert torch.isfinite(out.node).all() and torch.isfinite(out.pair).all()

    def test_equivariant(self, featurizer_factory, contract_basis, contract_graphs):
        featurizer = featurizer_factory(contract_context(contract_basis, "float64"))
        for graph in contract_graphs:
            assert_features_equivariant(featurizer, graph, rtol=self.rtol)

    def test_batch_matches_single(self, featurizer_factory, contract_basis, contract_graphs):
        featurizer = featurizer_factory(contract_context(contract_basis, "float64"))
        with torch.no_grad():
            batched = featurizer(Batch.from_data_list(contract_graphs))
            singles = [featurizer(graph) for graph in contract_graphs]
        scale = max(float(s.node.abs().max()) for s in singles)
        torch.testing.assert_close(batched.node, torch.cat([s.node for s in singles]), rtol=0, atol=1e-12 * scale)
        scale = max(float(s.pair.abs().max()) for s in singles)
        torch.testing.assert_close(batched.pair, torch.cat([s.pair for s in singles]), rtol=0, atol=1e-12 * scale)
