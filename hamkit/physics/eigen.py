"""Generalized eigenproblem ``H C = S C eps`` robust to a near-singular overlap.

Method (canonical orthogonalization): diagonalize ``S = U s U^T``; keep the eigenvectors
with ``s > threshold``; ``X = U_kept s_kept^{-1/2}``; diagonalize ``X^T H X = V eps V^T``;
``C = X V``. Dropped directions are (near-)linear dependencies of the basis; **the number of
returned orbitals m is then smaller than n**. ``C`` is S-orthonormal: ``C^T S C = 1``.
``H`` is symmetrized (``(H + H^T) / 2``) first, so a slightly asymmetric prediction is fine.

Thresholds: the default 1e-8 matches QH9's clamp of S's eigenvalues (for a well-conditioned
molecular S nothing is dropped and the result equals ``scipy.linalg.eigh(H, S)``); DeepH uses
5e-4 for periodic ``S(k)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

DEFAULT_OVERLAP_THRESHOLD = 1e-8
"""Overlap eigenvalues at or below this are projected out."""


def solve_generalized_eigen(
    hamiltonian: np.ndarray, overlap: np.ndarray, threshold: float = DEFAULT_OVERLAP_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """Orbital energies and coefficients (numpy, float64).

    Args:
        hamiltonian: (n, n) H, real symmetric or complex Hermitian (a Bloch matrix H(k)).
        overlap: (n, n) symmetric (Hermitian) positive semi-definite S (use the TRUE S when
            judging a predicted H).
        threshold: Overlap eigenvalues ``<= threshold`` are projected out.

    Returns:
        ``(energies, coefficients)``: energies ascending, shape (m,); coefficients (n, m),
        column k the orbital of ``energies[k]``; ``m <= n`` (see module docstring); complex
        when H or S is.
    """
    dtype = np.result_type(np.asarray(hamiltonian).dtype, np.asarray(overlap).dtype, np.float64)
    hamiltonian = np.asarray(hamiltonian, dtype=dtype)
    overlap = np.asarray(overlap, dtype=dtype)
    overlap_values, overlap_vectors = np.linalg.eigh(0.5 * (overlap + overlap.conj().T))
    kept = overlap_values > threshold
    if not kept.any():
        raise ValueError(f"every overlap eigenvalue is <= threshold {threshold}")
    transform = overlap_vectors[:, kept] / np.sqrt(overlap_values[kept])
    hermitian = 0.5 * (hamiltonian + hamiltonian.conj().T)
    energies, vectors = np.linalg.eigh(transform.conj().T @ hermitian @ transform)
    return energies, transform @ vectors


def solve_generalized_eigen_torch(
    hamiltonian: torch.Tensor, overlap: torch.Tensor, threshold: float = DEFAULT_OVERLAP_THRESHOLD
) -> tuple[torch.Tensor, torch.Tensor]:
    """Torch version of :func:`solve_generalized_eigen` for one (n, n) matrix (not batched).

    Differentiable through ``torch.linalg.eigh`` (gradients are ill-defined at degenerate
    eigenvalues, as always). Returns ``(energies (m,), coefficients (n, m))``.
    """
    overlap_values, overlap_vectors = torch.linalg.eigh(0.5 * (overlap + overlap.T))
    kept = overlap_values > threshold
    if not bool(kept.any()):
        raise ValueError(f"every overlap eigenvalue is <= threshold {threshold}")
    transform = overlap_vectors[:, kept] / torch.sqrt(overlap_values[kept])
    symmetric = 0.5 * (hamiltonian + hamiltonian.T)
    energies, vectors = torch.linalg.eigh(transform.T @ symmetric @ transform)
    return energies, transform @ vectors


def occupied_count(numbers: Sequence[int] | np.ndarray, charge: int = 0) -> int:
    """Number of doubly occupied orbitals of a closed-shell structure.

    Args:
        numbers: Atomic numbers (all electrons, no pseudopotentials), shape (n_atoms,).
        charge: Total charge.

    Returns:
        ``(sum(Z) - charge) / 2``.

    Raises:
        ValueError: Odd or negative electron count.
    """
    electrons = int(np.sum(np.asarray(numbers, dtype=np.int64))) - int(charge)
    if electrons < 0:
        raise ValueError(f"negative electron count {electrons} (charge {charge})")
    if electrons % 2:
        raise ValueError(
            f"odd electron count {electrons} (sum Z = {electrons + charge}, charge {charge}): "
            "closed-shell occupation is undefined; open-shell systems are not supported"
        )
    return electrons // 2
