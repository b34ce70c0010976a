"""Contract tests of the ``head`` kind: packed layout, dtypes, exact symmetry, equivariance, batching.

The factory receives a :class:`~hamkit.components.BuildContext` (species, basis, dtype and
the featurizer's declared ``node_irreps``/``pair_irreps``). Heads are fed by
:class:`~hamkit.testing.reference.ReferenceFeaturizer` (all-even, SO(3)) unless
``featurizer_factory`` is overridden in the head test class too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from hamkit.components import BuildContext, Declared, Featurizer, Head
from hamkit.data.basis import OrbitalBasis
from hamkit.testing.contracts.fixtures import DTYPES, StructuresMixin, contract_context
from hamkit.testing.equivariance import assert_hamiltonian_equivariant, assert_hamiltonian_symmetric
from hamkit.testing.graphs import block_layout
from hamkit.testing.reference import ReferenceFeaturesConfig, ReferenceFeaturizer


class HeadContract(StructuresMixin):
    """Contract tests of a head: packed layout, dtypes, exact symmetry, equivariance, batching.

    Override ``head_factory`` (``BuildContext -> Head``; the context's ``declared`` has the
    featurizer's ``node_irreps`` and ``pair_irreps``). ``featurizer_factory`` defaults to a
    :class:`~hamkit.testing.reference.ReferenceFeaturizer` with degrees up to twice the
    basis' highest shell degree.
    """

    @pytest.fixture
    def head_factory(self) -> Callable[[BuildContext], Head]:
        """Override: return a callable building the head under test from a context."""
        pytest.fail("override the head_factory fixture in your HeadContract subclass")

    @pytest.fixture
    def featurizer_factory(self, contract_basis) -> Callable[[BuildContext], Featurizer]:
        """Features feeding the head (default: parameter-free reference features)."""
        config = ReferenceFeaturesConfig(mul=3, lmax=2 * contract_basis.max_l)
        return lambda context: ReferenceFeaturizer.from_config(config, context)

    def _model(self, featurizer_factory, head_factory, basis: OrbitalBasis, dtype: str):
        featurizer = featurizer_factory(contract_context(basis, dtype))
        declared = Declared(node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
        head = head_factory(contract_context(basis, dtype, declared))
        assert isinstance(head, Head)

        def model(graph):
            return head(featurizer(graph), graph)

        return model

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_packed_layout_and_dtype(self, featurizer_factory, head_factory, contract_basis, contract_graphs, dtype):
        model = self._model(featurizer_factory, head_factory, contract_basis, dtype)
        for graph in contract_graphs:
            with torch.no_grad():
                out = model(graph)
            assert "hamiltonian" in out
            layout = block_layout(graph, contract_basis)
            assert out["hamiltonian"].shape == (int(layout.offsets[-1]),)
            assert out["hamiltonian"].dtype == getattr(torch, dtype)
            assert torch.isfinite(out["hamiltonian"]).all()

    def test_exactly_symmetric(self, featurizer_factory, head_factory, contract_basis, contract_graphs):
        model = self._model(featurizer_factory, head_factory, contract_basis, "float64")
        for graph in contract_graphs:
            with torch.no_grad():
                packed = model(graph)["hamiltonian"]
            assert_hamiltonian_symmetric(packed, graph, contract_basis, atol=0.0)

    def test_equivariant(self, featurizer_factory, head_factory, contract_basis, contract_graphs):
        model = self._model(featurizer_factory, head_factory, contract_basis, "float64")
        for graph in contract_graphs:
            assert_hamiltonian_equivariant(model, graph, contract_basis, rtol=self.rtol)

    def test_batch_matches_single(self, featurizer_factory, head_factory, contract_basis, contract_graphs):
        model = self._model(featurizer_factory, head_factory, contract_basis, "float64")
        with torch.no_grad():
            batched = model(Batch.from_data_list(contract_graphs))["hamiltonian"]
            singles = torch.cat([model(graph)["hamiltonian"] for graph in contract_graphs])
        scale = float(singles.abs().max())
        np.testing.assert_allclose(batched.numpy(), singles.numpy(), rtol=0, atol=1e-12 * scale)
