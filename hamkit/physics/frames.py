"""The one place that fixes how Cartesian axes map onto e3nn's frame.

Structures in hamkit keep ordinary ``(x, y, z)`` positions. e3nn's real spherical harmonics
use ``y`` as the polar axis; feeding it the permuted vectors ``(y, z, x)`` gives the standard
z-polar real harmonics with ``m = -l..l``, which is the order of hamkit's canonical orbital
convention (for ``l = 1``: ``(py, pz, px)``). The model side must therefore permute every
vector with :func:`to_e3nn_frame` before computing spherical harmonics, and a Cartesian
rotation ``R`` acts in that frame as :func:`e3nn_rotation` ``(R) = P R P^T``.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

E3NN_AXIS_ORDER: tuple[int, int, int] = (1, 2, 0)
"""Cartesian component feeding e3nn's axes 0, 1, 2: ``(y, z, x)``."""

E3NN_PERMUTATION: np.ndarray = np.eye(3)[list(E3NN_AXIS_ORDER)]
"""3x3 permutation matrix P with ``P @ (x, y, z) = (y, z, x)``."""

ArrayT = TypeVar("ArrayT")


def to_e3nn_frame(vectors: ArrayT) -> ArrayT:
    """Permute Cartesian vectors to e3nn's frame.

    Args:
        vectors: numpy array or torch tensor of shape (..., 3) in ``(x, y, z)``.

    Returns:
        Same type, shape (..., 3), components ``(y, z, x)``.
    """
    return vectors[..., list(E3NN_AXIS_ORDER)]  # type: ignore[index]


def from_e3nn_frame(vectors: ArrayT) -> ArrayT:
    """Inverse of :func:`to_e3nn_frame`: ``(y, z, x)`` back to ``(x, y, z)``, shape (..., 3)."""
    inverse = [E3NN_AXIS_ORDER.index(axis) for axis in range(3)]
    return vectors[..., inverse]  # type: ignore[index]


def e3nn_rotation(rotation: np.ndarray) -> np.ndarray:
    """Express a Cartesian rotation in e3nn's frame.

    Args:
        rotation: (3, 3) matrix acting on column vectors ``(x, y, z)``: ``x -> R x``.

    Returns:
        (3, 3) matrix ``P R P^T`` acting on ``(y, z, x)``.
    """
    rotation = np.asarray(rotation, dtype=np.float64)
    return E3NN_PERMUTATION @ rotation @ E3NN_PERMUTATION.T
