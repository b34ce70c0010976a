"""Irreps bookkeeping for the all-even (SO(3)-only) QHNet backbone.

Every feature here uses even parity only (``0e + 1e + 2e + ...``): spherical harmonics of
edge vectors are *relabelled* as even (their true parity is ``(-1)^l``), which makes the model
equivariant under proper rotations only (SO(3)) and lets it produce the "unnatural" irreps
that Hamiltonian sub-blocks need (a p-p sub-block contains 1e, a p-d one 2o: with parity
ignored both are just degree-1 and degree-2 irreps). Inversion is not a symmetry of such a
model, so parity must not be tested.

Inside the layers, features of irreps ``mul x (0e + ... + lmax e)`` are handled as a list of
per-degree tensors ``[(n, mul, 1), (n, mul, 3), ..., (n, mul, 2 lmax + 1)]``; the flat form
(n, mul * (lmax + 1)^2) is e3nn's layout of the same irreps (entry by entry, each entry
``(mul, 2l + 1)`` row-major).
"""

from __future__ import annotations

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

DegreeFeatures = list[torch.Tensor]
"""Per-degree features: entry ``l`` has shape (n, mul_l, 2l + 1)."""


def even_irreps(multiplicity: int, lmax: int) -> o3.Irreps:
    """``multiplicity x (0e + 1e + ... + lmax e)``.

    Args:
        multiplicity: Channels per degree.
        lmax: Highest degree.

    Returns:
        The irreps, sorted by degree.
    """
    return o3.Irreps([(multiplicity, (l, 1)) for l in range(lmax + 1)])


def split_degrees(x: torch.Tensor, multiplicity: int, lmax: int) -> DegreeFeatures:
    """Flat e3nn-layout features (n, multiplicity * (lmax + 1)^2) to per-degree tensors.

    Uses ``torch.split`` (whose backward is one concatenation, unlike slicing).

    Returns:
        ``[(n, multiplicity, 2l + 1) for l in 0..lmax]`` (views).
    """
    sizes = [multiplicity * (2 * l + 1) for l in range(lmax + 1)]
    pieces = torch.split(x, sizes, dim=-1)
    return [piece.reshape(x.shape[0], multiplicity, 2 * l + 1) for l, piece in enumerate(pieces)]


def join_degrees(features: DegreeFeatures) -> torch.Tensor:
    """Inverse of :func:`split_degrees`: per-degree tensors to flat (n, sum_l mul_l (2l + 1))."""
    return torch.cat([f.reshape(f.shape[0], -1) for f in features], dim=-1)


def spherical_harmonics_by_degree(vectors: torch.Tensor, lmax: int) -> DegreeFeatures:
    """Real spherical harmonics (e3nn, component normalization) of e3nn-frame vectors.

    Args:
        vectors: (n, 3) in e3nn's (y, z, x) frame (see :mod:`hamkit.physics.frames`).
        lmax: Highest degree.

    Returns:
        ``[(n, 1, 2l + 1) for l in 0..lmax]``.
    """
    sh = o3.spherical_harmonics(list(range(lmax + 1)), vectors, normalize=True, normalization="component")
    return split_degrees(sh, 1, lmax)
