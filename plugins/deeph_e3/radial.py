"""Gaussian radial basis with a smooth cosine cutoff (DeepH-E3's distance expansion)."""

from __future__ import annotations

import math

import torch
from torch import nn


def cosine_cutoff(distance: torch.Tensor, cutoff: float) -> torch.Tensor:
    """``0.5 (cos(pi r / r_c) + 1)`` for ``r < r_c``, else 0: value and slope vanish at ``r_c``.

    Args:
        distance: (n,) Angstrom.
        cutoff: ``r_c`` in Angstrom.

    Returns:
        (n,) values in [0, 1].
    """
    value = 0.5 * (torch.cos(math.pi * distance / cutoff) + 1.0)
    return torch.where(distance < cutoff, value, torch.zeros_like(value))


class GaussianRadialBasis(nn.Module):
    """``num`` Gaussians, centres evenly spaced on [0, r_c], width = spacing, times the cosine cutoff.

    Args:
        num: Number of basis functions (DeepH-E3: 128).
        cutoff: ``r_c`` in Angstrom.
    """

    def __init__(self, num: int, cutoff: float) -> None:
        super().__init__()
        self.num, self.cutoff = num, float(cutoff)
        centres = torch.linspace(0.0, cutoff, num, dtype=torch.float64)
        self.register_buffer("centres", centres, persistent=False)
        self.inverse_width = (num - 1) / cutoff if num > 1 else 1.0 / cutoff

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """(n,) distances in Angstrom -> (n, num) embeddings, zero at and beyond the cutoff."""
        scaled = (distance[:, None] - self.centres.to(distance.dtype)) * self.inverse_width
        return torch.exp(-0.5 * scaled.square()) * cosine_cutoff(distance, self.cutoff)[:, None]
