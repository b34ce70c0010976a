"""Irreps-level test tools: random features, their O(3) representation, reference invariants.

Invariant encoders and inducers act on feature vectors of any e3nn irreps, not on
structures; these helpers let their tests rotate such vectors directly:
``f -> f D(R)^T`` with :func:`irreps_representation`.
"""

from __future__ import annotations

import numpy as np
import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.physics.frames import e3nn_rotation
from hamkit.physics.rotation import random_rotation


def irreps_representation(irreps: str, matrix: np.ndarray) -> torch.Tensor:
    """e3nn representation D of a Cartesian orthogonal matrix (proper or improper).

    Args:
        irreps: e3nn irreps string of the features.
        matrix: (3, 3) orthogonal matrix acting on ``(x, y, z)``; the frame change to
            e3nn's ``(y, z, x)`` is applied here.

    Returns:
        D, shape (irreps.dim, irreps.dim), float64; features transform as ``f @ D.T``.
    """
    return o3.Irreps(irreps).D_from_matrix(torch.from_numpy(e3nn_rotation(matrix)))


def random_orthogonal(rng: np.random.Generator, improper: bool = False) -> np.ndarray:
    """A Haar-random rotation R, or the improper ``-R`` (rotation times inversion).

    Args:
        rng: numpy random generator.
        improper: Return ``-R``.

    Returns:
        (3, 3) float64 matrix, det +1 (or -1 when ``improper``).
    """
    rotation = random_rotation(rng)
    return -rotation if improper else rotation


def random_irreps_features(
    irreps: str, n_items: int = 7, seed: int = 0, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Standard-normal features of the given irreps.

    Args:
        irreps: e3nn irreps string.
        n_items: Number of rows (atoms, pairs, ...).
        seed: Seed of the generator.
        dtype: Output dtype.

    Returns:
        Shape (n_items, irreps.dim).
    """
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(n_items, o3.Irreps(irreps).dim, generator=generator, dtype=torch.float64)
    return features.to(dtype)


class ReferenceInvariants:
    """A parameter-free, O(3)-invariant, smooth map of features to invariants.

    ``z = tanh(s W)`` where ``s`` holds the squared norm of every channel of every irreps
    entry followed by the raw ``0e`` scalars, and ``W`` is a fixed random matrix.
    Twice differentiable, so gradient-based inducers can be tested without a trained
    encoder (:class:`hamkit.testing.contracts.InducerContract` uses it by default).

    Args:
        irreps: e3nn irreps string of the features.
        width: Number of invariants.
        seed: Seed of ``W``.
    """

    def __init__(self, irreps: str, width: int = 8, seed: int = 0) -> None:
        self.irreps = o3.Irreps(irreps)
        self.width = width
        channels = sum(mul for mul, _ in self.irreps)
        scalars = sum(mul for mul, ir in self.irreps if ir.l == 0 and ir.p == 1)
        generator = torch.Generator().manual_seed(seed)
        self.weight = torch.randn(channels + scalars, width, generator=generator, dtype=torch.float64)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """Invariants of features (n_items, irreps.dim) -> (n_items, width), features' dtype."""
        norms, scalars = [], []
        for (mul, ir), part in zip(self.irreps, self.irreps.slices()):
            block = features[..., part].reshape(*features.shape[:-1], mul, ir.dim)
            norms.append(block.square().sum(dim=-1))
            if ir.l == 0 and ir.p == 1:
                scalars.append(block[..., 0])
        invariants = torch.cat(norms + scalars, dim=-1)
        return torch.tanh(invariants @ self.weight.to(features.dtype))
