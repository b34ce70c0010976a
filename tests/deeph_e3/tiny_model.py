"""Tiny float64 DeepH-E3 featurizers and a cg_expansion model."""

from __future__ import annotations

from collections.abc import Callable

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)

from hamkit.components import BuildContext
from hamkit.data.basis import OrbitalBasis
from hamkit_plugins.deeph_e3 import DeepHE3Featurizer
from hamkit_plugins.heads import CGExpansionHead

TINY = dict(node_irreps="4x0e+2x1o+2x2e+1x3o+1x4e", num_radial=8, radial_hidden=8)
"""A DeepH-E3 small enough for fast tests, still with degrees up to 4 (d-d sub-blocks need L = 4)."""


def make_featurizer(
    basis: OrbitalBasis, dtype: str = "float64", seed: int = 0, **options
) -> DeepHE3Featurizer:
    """A ``deeph_e3`` featurizer built through ``from_config`` (TINY options, overridable)."""
    torch.manual_seed(seed)
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)
    return DeepHE3Featurizer.from_config(DeepHE3Featurizer.Config(**{**TINY, **options}), context)


def build_model(
    basis: OrbitalBasis, head_parity: str = "physical", dtype: str = "float64", **options
) -> tuple[DeepHE3Featurizer, CGExpansionHead, Callable]:
    """deeph_e3 + cg_expansion, and ``model(graph) -> packed H``."""
    featurizer = make_featurizer(basis, dtype, **options)
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    head = CGExpansionHead.from_config(CGExpansionHead.Config(parity=head_parity), context)

    def model(graph):
        return head(featurizer(graph), graph)["hamiltonian"]

    return featurizer, head, model
