"""A tiny float64 MACE featurizer (built once per option set) and model for the mace tests."""

from __future__ import annotations

from collections.abc import Callable

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)

from hamkit.components import BuildContext
from hamkit.data.basis import OrbitalBasis
from hamkit_plugins.heads import CGExpansionHead
from hamkit_plugins.mace import MACEFeaturizer

TINY = dict(
    channels=4, lmax=2, num_interactions=2, correlation=2, max_ell=2, num_radial=4,
    radial_mlp=[8], bottleneck=3, pair_hidden=8, cutoff=5.0, avg_num_neighbors=3.0,
)
"""A MACE small enough for fast tests; outputs reach L = 4 through the self/pair products."""

_CACHE: dict[tuple, MACEFeaturizer] = {}


def build_mace(context: BuildContext, seed: int = 0, cache: bool = True, **options) -> MACEFeaturizer:
    """Tiny featurizer (``TINY`` updated by ``options``), cached per (context, options).

    Cached instances are shared between tests: use them read-only (no casts, no training).
    """
    key = (context.dtype, tuple(context.species), getattr(context.basis, "max_l", None), seed,
           tuple(sorted((k, str(v)) for k, v in options.items())))
    if cache and key in _CACHE:
        return _CACHE[key]
    torch.manual_seed(seed)
    featurizer = MACEFeaturizer.from_config(MACEFeaturizer.Config(**{**TINY, **options}), context)
    if cache:
        _CACHE[key] = featurizer
    return featurizer


def build_model(
    basis: OrbitalBasis, dtype: str = "float64", head_options: dict | None = None, **options
) -> tuple[MACEFeaturizer, CGExpansionHead, Callable]:
    """Tiny mace + cg_expansion through ``from_config``, and ``model(graph) -> packed H``."""
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype=dtype)
    featurizer = build_mace(context, **options)
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    torch.manual_seed(1)
    head = CGExpansionHead.from_config(CGExpansionHead.Config(**(head_options or {})), context)

    def model(graph):
        return head(featurizer(graph), graph)["hamiltonian"]

    return featurizer, head, model
