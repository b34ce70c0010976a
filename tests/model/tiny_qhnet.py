"""A tiny float64 QHNet + cg_expansion model for the model tests."""

from __future__ import annotations

from collections.abc import Callable

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)

from hamkit.components import BuildContext
from hamkit.data.basis import OrbitalBasis
from hamkit_plugins.heads import CGExpansionHead
from hamkit_plugins.qhnet import QHNetFeaturizer

TINY = dict(
    hidden=4, sh_lmax=2, lmax=4, num_layers=3, pair_start_layer=2, bottleneck=3,
    num_radial=8, radial_hidden=16, cutoff=5.0,
)
"""A QHNet small enough for fast tests, with degrees up to 4 (d-d sub-blocks need L = 4)."""


def build_model(
    basis: OrbitalBasis, dtype: str = "float64", seed: int = 0, head_options: dict | None = None,
    **featurizer_options,
) -> tuple[QHNetFeaturizer, CGExpansionHead, Callable]:
    """QHNet + cg_expansion built through ``from_config``, and ``model(graph) -> packed H``."""
    torch.manual_seed(seed)
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)
    featurizer = QHNetFeaturizer.from_config(
        QHNetFeaturizer.Config(**{**TINY, **featurizer_options}), context
    )
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    head = CGExpansionHead.from_config(CGExpansionHead.Config(**(head_options or {})), context)

    def model(graph):
        return head(featurizer(graph), graph)["hamiltonian"]

    return featurizer, head, model
