"""Small periodic structures and a small DeepH-E3 model for the periodic tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamkit.components import BuildContext
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit_plugins.deeph_e3.featurizer import DeepHE3Config, DeepHE3Featurizer
from hamkit_plugins.heads.cg_expansion import CGExpansionConfig, CGExpansionHead

A = 2.50
"""Lattice constant of the test honeycomb, Angstrom."""


def honeycomb(seed: int = 0, numbers=(5, 7), displacement: float = 0.08) -> Structure:
    """A 2D hexagonal cell with two atoms, randomly displaced, 12 A vacuum along a3."""
    rng = np.random.default_rng(seed)
    cell = np.array([[A, 0.0, 0.0], [A / 2, A * np.sqrt(3) / 2, 0.0], [0.0, 0.0, 12.0]])
    fractional = np.array([[1 / 3, 1 / 3, 0.5], [2 / 3, 2 / 3, 0.5]])
    positions = fractional @ cell + rng.normal(scale=displacement, size=(2, 3))
    return Structure(np.array(numbers), positions, cell=cell, pbc=(True, True, False))


@pytest.fixture(scope="session")
def spd_basis() -> OrbitalBasis:
    """s, p and d shells on B and N, so p-p, p-d and d-d hoppings are all exercised."""
    return OrbitalBasis.from_shells({5: [0, 0, 1, 2], 7: [0, 1, 1, 2]}, name="test-spd")


def build_featurizer(name: str, context: BuildContext):
    """A small float64 periodic-aware featurizer: ``deeph_e3`` or ``mace`` (4 A pairs, 3.5 A messages)."""
    if name == "deeph_e3":
        return DeepHE3Featurizer.from_config(
            DeepHE3Config(num_blocks=2, cutoff=4.0, node_irreps="8x0e+4x1o+4x2e+2x3o+2x4e", num_radial=16,
                          radial_hidden=16), context)
    from hamkit_plugins.mace import MACEConfig, MACEFeaturizer

    return MACEFeaturizer.from_config(
        MACEConfig(channels=4, lmax=2, symmetry="o3", correlation=2, max_ell=2, cutoff=3.5, pair_cutoff=4.0,
                   radial_mlp=[8], bottleneck=4, pair_hidden=8), context)


@pytest.fixture(scope="session", params=["deeph_e3", "mace"])
def periodic_model(request, spd_basis):
    """A small float64 featurizer + cg_expansion head (graph -> packed H), for each periodic backbone."""
    torch.manual_seed(0)
    context = BuildContext(species=(5, 7), basis=spd_basis, dtype="float64")
    featurizer = build_featurizer(request.param, context)
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    head = CGExpansionHead.from_config(CGExpansionConfig(parity="physical"), context)

    def predict(graph):
        from hamkit.engine.batches import collate

        batch = collate([graph], torch.float64, torch.device("cpu"))
        with torch.no_grad():
            return head(featurizer(batch), batch)["hamiltonian"]

    predict.cutoff = 4.0
    predict.featurizer = featurizer
    return predict
