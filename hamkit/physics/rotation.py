"""Rotations of structures and of operators in the canonical orbital convention.

If positions are rotated ``x -> R x``, every operator in the canonical convention (see
:mod:`hamkit.physics.orbital_order`) transforms as ``M -> D M D^T`` with ``D`` block diagonal
over atoms and shells, the shell block of degree ``l`` being e3nn's real Wigner matrix
``D^l(P R P^T)`` (``P``: see :mod:`hamkit.physics.frames`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg
import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.frames import e3nn_rotation


def _check_rotation(rotation: np.ndarray) -> np.ndarray:
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape != (3, 3):
        raise ValueError(f"rotation must be 3x3, got {rotation.shape}")
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-8) or np.linalg.det(rotation) < 0:
        raise ValueError("rotation must be a proper orthogonal matrix (R R^T = 1, det R = +1)")
    return rotation


def shell_wigner_d(l: int, rotation: np.ndarray) -> np.ndarray:
    """Real Wigner matrix of one canonical shell.

    Args:
        l: Shell degree.
        rotation: (3, 3) proper rotation acting on Cartesian ``(x, y, z)`` column vectors.

    Returns:
        (2l + 1, 2l + 1) float64 ``D^l`` with ``B -> D^{l1} B D^{l2}^T`` for sub-blocks.
    """
    frame_rotation = torch.from_numpy(e3nn_rotation(_check_rotation(rotation)))
    return o3.Irrep(l, 1).D_from_matrix(frame_rotation).numpy()


def orbital_rotation_matrix(
    numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis, rotation: np.ndarray
) -> np.ndarray:
    """Block-diagonal orbital rotation of a whole structure (canonical convention).

    Args:
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        rotation: (3, 3) Cartesian rotation ``x -> R x``.

    Returns:
        (n, n) orthogonal float64 matrix ``D``.
    """
    per_degree = {l: shell_wigner_d(l, rotation) for l in set(basis.orbital_shell_ls(numbers))}
    return scipy.linalg.block_diag(*[per_degree[l] for l in basis.orbital_shell_ls(numbers)])


def rotate_operator(
    matrix: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    rotation: np.ndarray,
) -> np.ndarray:
    """Operator of the rotated structure: ``D M D^T``.

    Args:
        matrix: Shape (..., n, n), canonical convention.
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        rotation: (3, 3) Cartesian rotation ``x -> R x``.

    Returns:
        Shape (..., n, n).
    """
    d = orbital_rotation_matrix(numbers, basis, rotation)
    return d @ np.asarray(matrix) @ d.T


def rotate_positions(positions: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Rotate positions (n_atoms, 3) about the origin: each row ``x -> R x``."""
    return np.asarray(positions) @ _check_rotation(rotation).T


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Haar-uniform random proper rotation.

    Args:
        rng: numpy random generator.

    Returns:
        (3, 3) float64 matrix with det +1.
    """
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))  # uniform on O(3)
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q
