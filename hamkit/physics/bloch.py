"""Bloch sums: from real-space matrices H(R) to H(k), and the k-point conventions.

k-points are in reduced (fractional) coordinates of the reciprocal lattice, so
``exp(i k_cart . T_R) = exp(2 pi i k . R)`` for an integer lattice translation R; see
:mod:`hamkit.data.structure` for the meaning of H(R).
"""

from __future__ import annotations

import numpy as np


def bloch_matrices(translations: np.ndarray, matrices: np.ndarray, kpoints: np.ndarray) -> np.ndarray:
    """H(k) = sum_R exp(2 pi i k.R) H(R) at each k-point.

    Args:
        translations: (n_R, 3) integer lattice translations.
        matrices: (n_R, n, n) real-space matrices (H or S).
        kpoints: (n_k, 3) reduced coordinates (or (3,) for one k-point).

    Returns:
        (n_k, n, n) complex128 Hermitian matrices when the set of R holds -R for every R
        with H(-R) = H(R)^T; (n, n) for a single (3,) k-point.
    """
    kpoints = np.asarray(kpoints, dtype=np.float64)
    single = kpoints.ndim == 1
    phases = np.exp(2j * np.pi * np.atleast_2d(kpoints) @ np.asarray(translations, dtype=np.float64).T)
    result = np.einsum("kr,rmn->kmn", phases, np.asarray(matrices))
    return result[0] if single else result


def reciprocal_cell(cell: np.ndarray) -> np.ndarray:
    """Reciprocal lattice vectors as rows, including the 2 pi factor (1/Angstrom)."""
    return 2.0 * np.pi * np.linalg.inv(np.asarray(cell, dtype=np.float64)).T


def cartesian_kpoints(kpoints: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Reduced k-points (n_k, 3) to Cartesian (n_k, 3) in 1/Angstrom."""
    return np.asarray(kpoints, dtype=np.float64) @ reciprocal_cell(cell)


def reduced_kpoints(kpoints_cartesian: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Cartesian k-points (n_k, 3) in 1/Angstrom to reduced coordinates."""
    return np.asarray(kpoints_cartesian, dtype=np.float64) @ np.asarray(cell, dtype=np.float64).T / (2.0 * np.pi)


def monkhorst_pack(mesh: tuple[int, int, int], gamma_centred: bool = True) -> np.ndarray:
    """Reduced k-points of a regular mesh, shape (prod(mesh), 3), in [0, 1) when Gamma-centred."""
    axes = []
    for count in mesh:
        points = np.arange(count) / count
        if not gamma_centred:
            points = points + 0.5 / count - 0.5
        axes.append(points)
    grid = np.meshgrid(*axes, indexing="ij")
    return np.stack([axis.reshape(-1) for axis in grid], axis=1)
