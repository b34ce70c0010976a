"""The equivariance checkers catch broken components (negative controls) and test parity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch

from hamkit.components import BuildContext, ComponentConfig, Declared, Featurizer
from hamkit.components.features import EquivariantFeatures
from hamkit.physics.blocks import pack_blocks
from hamkit.testing import (
    ReferenceFeaturizer,
    assert_features_equivariant,
    assert_hamiltonian_equivariant,
    assert_hamiltonian_symmetric,
    packed_to_matrix,
)
from hamkit.testing.graphs import block_layout
from hamkit.testing.reference import ReferenceFeaturesConfig
from hamkit_plugins.heads import CGExpansionHead


class XCoordinateFeaturizer(Featurizer):
    """Broken on purpose: uses the raw x coordinate as a scalar (0e) feature."""

    name: ClassVar[str] = "broken_x"
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    node_irreps = pair_irreps = "2x0e+1x1e"

    def forward(self, graph):
        reference = ReferenceFeaturizer(ReferenceFeaturesConfig(mul=1, lmax=1))(graph)
        pos = graph.pos.to(torch.float64)
        x = pos[:, :1]
        node = torch.cat([reference.node[:, :1], x, reference.node[:, 1:]], dim=-1)
        i, j = graph.pair_index
        pair = torch.cat([reference.pair[:, :1], x[i] - x[j], reference.pair[:, 1:]], dim=-1)
        return EquivariantFeatures(node, pair, graph.pair_index, self.node_irreps, self.pair_irreps)


def _natural_parity(features: EquivariantFeatures) -> EquivariantFeatures:
    """Relabel all-even reference features with their true parity (-1)^l (they are O(3)-equivariant)."""
    irreps = features.node_irreps.replace("1e", "1o").replace("3e", "3o")
    return EquivariantFeatures(features.node, features.pair, features.pair_index, irreps, irreps)


def test_checker_rejects_x_coordinate_scalar(water_graph):
    with pytest.raises(AssertionError, match=r"irreps entry 0 '2x0e' \(channel 1"):
        assert_features_equivariant(XCoordinateFeaturizer(), water_graph)


def test_checker_rejects_translation_dependence(water_graph):
    """x_i - x_j is translation invariant but not rotation invariant; x alone fails translation."""
    with pytest.raises(AssertionError) as failure:
        assert_features_equivariant(XCoordinateFeaturizer(), water_graph, n_rotations=0, n_permutations=0)
    assert "node/translation" in str(failure.value)


def test_checker_rejects_wrong_orbital_order(basis, tiny_model, ch2oh_graph):
    """Swapping two p components inside every p shell breaks equivariance: the p sub-blocks are named."""
    _, _, model = tiny_model

    def broken(graph):
        order, start = [], 0
        for l in basis.orbital_shell_ls(graph.z.numpy()):
            shell = list(range(start, start + 2 * l + 1))
            order += [shell[1], shell[0], shell[2]] if l == 1 else shell
            start += 2 * l + 1
        matrix = packed_to_matrix(model(graph), graph, basis)[np.ix_(order, order)]
        return torch.from_numpy(pack_blocks(matrix, block_layout(graph, basis)))

    with pytest.raises(AssertionError, match=r"rotation relative error .* \(l=1\)"):
        assert_hamiltonian_equivariant(broken, ch2oh_graph, basis)


def test_checker_rejects_asymmetric_output(basis, tiny_model, water_graph):
    _, _, model = tiny_model
    with torch.no_grad():
        packed = model(water_graph).clone()
    packed[20] += 1e-9  # one element of the first on-site block
    with pytest.raises(AssertionError, match=r"not symmetric.*atom 0 \(Z=8\)"):
        assert_hamiltonian_symmetric(packed, water_graph, basis)


def test_checker_needs_float64(basis, water_graph):
    featurizer = ReferenceFeaturizer(ReferenceFeaturesConfig(), torch.float32)
    with pytest.raises(ValueError, match="float64"):
        assert_features_equivariant(featurizer, water_graph)


def test_inversion_check(basis, water_graph):
    """Natural-parity features pass the inversion check; the same numbers labelled all-even fail it."""
    reference = ReferenceFeaturizer(ReferenceFeaturesConfig(mul=2, lmax=3))
    report = assert_features_equivariant(lambda g: _natural_parity(reference(g)), water_graph, check_inversion=True)
    assert "node/inversion" in report.errors
    with pytest.raises(AssertionError, match="inversion"):
        assert_features_equivariant(reference, water_graph, check_inversion=True)


def test_inversion_check_on_hamiltonians(basis, water_graph):
    """A physical-parity head on natural-parity features is O(3)-equivariant (missing parities zero)."""
    reference = ReferenceFeaturizer(ReferenceFeaturesConfig(mul=2, lmax=4))
    irreps = _natural_parity(reference(water_graph)).node_irreps
    context = BuildContext(species=(1, 8), basis=basis, dtype="float64",
                           declared=Declared(node_irreps=irreps, pair_irreps=irreps))
    head = CGExpansionHead.from_config(
        CGExpansionHead.Config(parity="physical", missing_irreps="zero"), context
    )
    assert "1e" in head.missing  # p-p sub-blocks' L = 1 part

    def model(graph):
        return head(_natural_parity(reference(graph)), graph)

    report = assert_hamiltonian_equivariant(model, water_graph, basis, check_inversion=True)
    assert report.errors["inversion"] < 1e-12
