"""Radial embeddings of interatomic distances: Gaussian or Bessel basis times a smooth cutoff."""

from __future__ import annotations

import math

import torch
from torch import nn


def cosine_envelope(distance: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Smooth cutoff ``0.5 (cos(pi r / r_c) + 1)`` for ``r < r_c``, 0 beyond.

    Value and first derivative vanish at ``r_c``, so features change smoothly when a
    neighbour crosses the cutoff.

    Args:
        distance: Distances in Angstrom, shape (n_edges,).
        cutoff: ``r_c`` in Angstrom.

    Returns:
        Envelope values in [0, 1], shape (n_edges,).
    """
    inside = distance < cutoff
    value = 0.5 * (torch.cos(math.pi * distance / cutoff) + 1.0)
    return torch.where(inside, value, torch.zeros_like(value))


class GaussianBasis(nn.Module):
    """``num`` Gaussians with centres evenly spaced on [0, r_c] and width = spacing.

    Args:
        num: Number of basis functions.
        cutoff: ``r_c`` in Angstrom.
    """

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        centres = torch.linspace(0.0, cutoff, num, dtype=torch.float64)
        width = cutoff / max(num - 1, 1)
        self.register_buffer("centres", centres, persistent=False)
        self.inverse_width = 1.0 / width

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """Distances (n_edges,) to basis values (n_edges, num)."""
        scaled = (distance[:, None] - self.centres) * self.inverse_width
        return torch.exp(-0.5 * scaled.square())


class BesselBasis(nn.Module):
    """``sqrt(2 / r_c) sin(n pi r / r_c) / r`` for n = 1..num (DimeNet's radial basis).

    Args:
        num: Number of basis functions.
        cutoff: ``r_c`` in Angstrom.
    """

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        frequencies = torch.arange(1, num + 1, dtype=torch.float64) * math.pi / cutoff
        self.register_buffer("frequencies", frequencies, persistent=False)
        self.prefactor = math.sqrt(2.0 / cutoff)

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """Distances (n_edges,) to basis values (n_edges, num); distances must be > 0."""
        r = distance[:, None]
        return self.prefactor * torch.sin(self.frequencies * r) / r


class RadialEmbedding(nn.Module):
    """Radial basis multiplied by :func:`cosine_envelope`: zero at and beyond the cutoff.

    Args:
        kind: ``"gaussian"`` or ``"bessel"``.
        num: Number of basis functions.
        cutoff: Range in Angstrom.
    """

    def __init__(self, kind: str, num: int, cutoff: float) -> None:
        super().__init__()
        if kind == "gaussian":
            self.basis: nn.Module = GaussianBasis(num, cutoff)
        elif kind == "bessel":
            self.basis = BesselBasis(num, cutoff)
        else:
            raise ValueError(f"unknown radial basis {kind!r} (use 'gaussian' or 'bessel')")
        self.cutoff = float(cutoff)
        self.num = num

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """Distances (n_edges,) in Angstrom to embeddings (n_edges, num)."""
        return self.basis(distance) * cosine_envelope(distance, self.cutoff)[:, None]
