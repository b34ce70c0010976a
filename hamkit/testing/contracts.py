"""Contract test mixins for featurizer and head plugins (pytest).

Subclass a mixin in a test module under a ``Test*`` name and override its factory fixture;
pytest then runs every contract test against your component::

    from hamkit.testing.contracts import FeaturizerContract

    class TestMyBackbone(FeaturizerContract):
        @pytest.fixture
        def featurizer_factory(self):
            return lambda context: MyBackbone.from_config(MyBackbone.Config(width=4), context)

    class TestMyHead(HeadContract):
        @pytest.fixture
        def head_factory(self):
            return lambda context: MyHead.from_config(MyHead.Config(), context)

Factories receive a :class:`~hamkit.components.BuildContext` (species, basis, dtype and, for
heads, the featurizer's declared ``node_irreps``/``pair_irreps``) and return the component.
The structures are small distorted molecules in a def2-SVP-shaped basis (override
``contract_basis``/``contract_structures`` to change them). Heads are fed by
:class:`~hamkit.testing.reference.ReferenceFeaturizer` (all-even, SO(3)) unless
``featurizer_factory`` is overridden in the head test class too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, Featurizer, Head
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.testing.equivariance import (
    assert_features_equivariant,
    assert_hamiltonian_equivariant,
    assert_hamiltonian_symmetric,
)
from hamkit.testing.graphs import block_layout, molecule_graph
from hamkit.testing.molecules import hydroxymethyl, svp_like_basis, water
from hamkit.testing.reference import ReferenceFeaturesConfig, ReferenceFeaturizer

DTYPES = ("float32", "float64")


def _context(basis: OrbitalBasis, dtype: str, declared: dict[str, Any] | None = None) -> BuildContext:
    return BuildContext(
        species=tuple(basis.elements), basis=basis, dtype=dtype, declared=dict(declared or {})
    )


class _StructuresMixin:
    rtol: ClassVar[float] = 1e-10
    """Relative tolerance of the float64 equivariance checks."""

    @pytest.fixture
    def contract_basis(self) -> OrbitalBasis:
        """Basis of the contract structures (default: def2-SVP shells of H, C, N, O)."""
        return svp_like_basis()

    @pytest.fixture
    def contract_structures(self) -> list[Structure]:
        """Structures to test on (default: distorted water and a 5-atom C, O, H3 molecule)."""
        return [water(), hydroxymethyl()]

    @pytest.fixture
    def contract_graphs(self, contract_structures, contract_basis) -> list[Any]:
        """Fully connected graphs of the structures."""
        return [molecule_graph(s, contract_basis) for s in contract_structures]


class FeaturizerContract(_StructuresMixin):
    """Contract tests of a featurizer: irreps declared, shapes, dtypes, equivariance, batching.

    Override ``featurizer_factory`` (``BuildContext -> Featurizer``).
    """

    @pytest.fixture
    def featurizer_factory(self) -> Callable[[BuildContext], Featurizer]:
        """Override: return a callable building the featurizer under test from a context."""
        pytest.fail("override the featurizer_factory fixture in your FeaturizerContract subclass")

    def test_declares_irreps(self, featurizer_factory, contract_basis):
        featurizer = featurizer_factory(_context(contract_basis, "float64"))
        assert isinstance(featurizer, Featurizer)
        for attribute in ("node_irreps", "pair_irreps"):
            value = getattr(featurizer, attribute, None)
            assert isinstance(value, str), f"{attribute} must be an e3nn irreps string, got {value!r}"
            assert o3.Irreps(value).dim > 0, f"{attribute} '{value}' is empty"

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_shapes_and_dtype(self, featurizer_factory, contract_basis, contract_graphs, dtype):
        featurizer = featurizer_factory(_context(contract_basis, dtype))
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
        featurizer = featurizer_factory(_context(contract_basis, "float64"))
        for graph in contract_graphs:
            assert_features_equivariant(featurizer, graph, rtol=self.rtol)

    def test_batch_matches_single(self, featurizer_factory, contract_basis, contract_graphs):
        featurizer = featurizer_factory(_context(contract_basis, "float64"))
        with torch.no_grad():
            batched = featurizer(Batch.from_data_list(contract_graphs))
            singles = [featurizer(graph) for graph in contract_graphs]
        scale = max(float(s.node.abs().max()) for s in singles)
        torch.testing.assert_close(batched.node, torch.cat([s.node for s in singles]), rtol=0, atol=1e-12 * scale)
        scale = max(float(s.pair.abs().max()) for s in singles)
        torch.testing.assert_close(batched.pair, torch.cat([s.pair for s in singles]), rtol=0, atol=1e-12 * scale)


class HeadContract(_StructuresMixin):
    """Contract tests of a head: packed layout, dtypes, exact symmetry, equivariance, batching.

    Override ``head_factory`` (``BuildContext -> Head``; the context's ``declared`` holds the
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
        featurizer = featurizer_factory(_context(basis, dtype))
        declared = {"node_irreps": featurizer.node_irreps, "pair_irreps": featurizer.pair_irreps}
        head = head_factory(_context(basis, dtype, declared))
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
