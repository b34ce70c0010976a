"""Radial functions of interatomic distances: a smooth cutoff and Gaussian or Bessel bases."""

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
    value = 0.5 * (torch.cos(math.pi * distance / cutoff) + 1.0)
    return torch.where(distance < cutoff, value, torch.zeros_like(value))


class GaussianBasis(nn.Module):
    """``num`` Gaussians with centres evenly spaced on [0, r_c] and width = spacing.

    ``g_k(r) = exp(-0.5 ((r - mu_k) / w)^2)`` with ``mu_k = k r_c / (num - 1)`` and
    ``w = r_c / (num - 1)`` (``w = r_c`` for a single Gaussian). The centres are a
    non-persistent float64 buffer: they follow ``module.to(dtype)`` and stay out of
    checkpoints.

    Args:
        num: Number of basis functions.
        cutoff: ``r_c`` in Angstrom (the last centre).
    """

    centres: torch.Tensor

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        centres = torch.linspace(0.0, cutoff, num, dtype=torch.float64)
        self.register_buffer("centres", centres, persistent=False)
        self.inverse_width = 1.0 / (cutoff / max(num - 1, 1))

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """Basis values of distances.

        Args:
            distance: Distances in Angstrom, shape (n_edges,).

        Returns:
            Values in (0, 1], shape (n_edges, num), in ``distance``'s dtype.
        """
        scaled = (distance[:, None] - self.centres.to(distance.dtype)) * self.inverse_width
        return torch.exp(-0.5 * scaled.square())


class BesselBasis(nn.Module):
    """``sqrt(2 / r_c) sin(n pi r / r_c) / r`` for n = 1..num (DimeNet's radial basis).

    Args:
        num: Number of basis functions.
        cutoff: ``r_c`` in Angstrom.
    """

    frequencies: torch.Tensor

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        frequencies = torch.arange(1, num + 1, dtype=torch.float64) * math.pi / cutoff
        self.register_buffer("frequencies", frequencies, persistent=False)
        self.prefactor = math.sqrt(2.0 / cutoff)

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """Basis values of distances.

        Args:
            distance: Distances in Angstrom, shape (n_edges,); must be > 0.

        Returns:
            Values, shape (n_edges, num).
        """
        r = distance[:, None]
        return self.prefactor * torch.sin(self.frequencies * r) / r


class RadialEmbedding(nn.Module):
    """Radial basis multiplied by :func:`cosine_envelope`: zero at and beyond the cutoff.

    Args:
        kind: ``"gaussian"`` (:class:`GaussianBasis`) or ``"bessel"`` (:class:`BesselBasis`).
        num: Number of basis functions.
        cutoff: Range in Angstrom, of the basis and of the envelope.

    Raises:
        ValueError: Another ``kind``.
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
        """Embeddings of distances.

        Args:
            distance: Distances in Angstrom, shape (n_edges,).

        Returns:
            Embeddings, shape (n_edges, num); zero where ``distance >= cutoff``.
        """
        return self.basis(distance) * cosine_envelope(distance, self.cutoff)[:, None]
