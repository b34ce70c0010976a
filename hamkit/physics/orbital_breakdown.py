"""Orbital-energy errors orbital by orbital, and split into core and valence.

A model can fit the deep, nearly atomic core levels (O 1s at about -19 Ha) and the chemically
relevant valence levels very differently, and a mean over all occupied orbitals hides which.
Core orbitals are counted the frozen-core way: the lowest ``sum over atoms of its core
orbital count`` occupied levels (0 for H and He, 1 for Li-Ne, 5 for Na-Ar, 9 for K-Kr, ...).

Units as :mod:`hamkit.physics.metrics`: micro-Hartree for inputs in Hartree. Both H's are
solved with the TRUE overlap S.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hamkit.physics.eigen import DEFAULT_OVERLAP_THRESHOLD, solve_generalized_eigen
from hamkit.physics.metrics import MICRO_HARTREE

_NOBLE_GAS_ELECTRONS = (0, 2, 10, 18, 36, 54, 86, 118)
"""Electron counts of the closed shells He, Ne, Ar, Kr, Xe, Rn, Og (and 0 before He)."""


def core_orbital_count(atomic_number: int) -> int:
    """Doubly occupied core orbitals of an element: half the electrons of the previous noble gas.

    Args:
        atomic_number: Z >= 1.

    Returns:
        0 for H-He, 1 for Li-Ne, 5 for Na-Ar, 9 for K-Kr, 18 for Rb-Xe, ...

    Raises:
        ValueError: Z < 1 or beyond the table.
    """
    if not 1 <= atomic_number <= _NOBLE_GAS_ELECTRONS[-1]:
        raise ValueError(f"no core orbital count for atomic number {atomic_number}")
    previous = max(n for n in _NOBLE_GAS_ELECTRONS if n < atomic_number)
    return previous // 2


def structure_core_count(numbers: Sequence[int] | np.ndarray) -> int:
    """Core orbitals of a structure: the sum of :func:`core_orbital_count` over its atoms."""
    return sum(core_orbital_count(int(z)) for z in numbers)


@dataclass(frozen=True)
class OrbitalEnergyErrors:
    """Occupied orbital-energy errors of one structure.

    Attributes:
        per_orbital: |eps_pred - eps_true| of each occupied orbital, lowest first, micro-Hartree,
            shape (n_occupied,).
        n_core: How many of them are core orbitals (the first ``n_core``).
    """

    per_orbital: np.ndarray
    n_core: int

    @property
    def core_mae(self) -> float:
        """Mean error over the core orbitals (``nan`` without any)."""
        return float(self.per_orbital[: self.n_core].mean()) if self.n_core else float("nan")

    @property
    def valence_mae(self) -> float:
        """Mean error over the occupied valence orbitals (``nan`` without any)."""
        valence = self.per_orbital[self.n_core:]
        return float(valence.mean()) if valence.size else float("nan")


def occupied_energy_errors(
    h_pred: np.ndarray,
    h_true: np.ndarray,
    overlap: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    n_occupied: int,
    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
) -> OrbitalEnergyErrors:
    """Errors of each occupied orbital energy of one closed-shell structure.

    Args:
        h_pred: Predicted H, (n, n), Hartree.
        h_true: Reference H, (n, n), Hartree.
        overlap: True overlap S, (n, n).
        numbers: Atomic numbers, (n_atoms,).
        n_occupied: Doubly occupied orbitals
            (:func:`hamkit.physics.eigen.occupied_count`).
        threshold: Overlap eigenvalue threshold of the generalized eigensolver.

    Returns:
        The per-orbital errors and the core count.

    Raises:
        ValueError: ``n_occupied`` outside 1..n, or more core orbitals than occupied ones.
    """
    eps_pred, _ = solve_generalized_eigen(h_pred, overlap, threshold)
    eps_true, _ = solve_generalized_eigen(h_true, overlap, threshold)
    if not 1 <= n_occupied <= eps_true.size:
        raise ValueError(f"{n_occupied} occupied orbitals but {eps_true.size} orbitals")
    n_core = structure_core_count(numbers)
    if n_core > n_occupied:
        raise ValueError(f"{n_core} core orbitals but only {n_occupied} occupied (a cation without valence?)")
    errors = np.abs(eps_pred[:n_occupied] - eps_true[:n_occupied]) * MICRO_HARTREE
    return OrbitalEnergyErrors(per_orbital=errors, n_core=n_core)
