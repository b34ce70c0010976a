"""Labelled structures: atoms plus H (and S) in hamkit's canonical orbital convention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Structure:
    """Atoms of a molecule (or, later, a crystal).

    Attributes:
        numbers: Atomic numbers, shape (n_atoms,), int64.
        positions: Cartesian (x, y, z) positions in Angstrom, shape (n_atoms, 3), float64.
        charge: Total charge (closed-shell occupations use it).
    """

    numbers: np.ndarray
    positions: np.ndarray
    charge: int = 0

    def __post_init__(self) -> None:
        numbers = np.asarray(self.numbers, dtype=np.int64).reshape(-1)
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.shape != (len(numbers), 3):
            raise ValueError(
                f"positions have shape {positions.shape}, expected ({len(numbers)}, 3)"
            )
        object.__setattr__(self, "numbers", numbers)
        object.__setattr__(self, "positions", positions)

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return len(self.numbers)


@dataclass(frozen=True)
class HamiltonianRecord:
    """A structure with its Hamiltonian (and overlap) in the canonical convention, Hartree.

    Attributes:
        structure: The atoms.
        hamiltonian: H, shape (n_orbitals, n_orbitals), symmetric.
        overlap: S, same shape, or None when the source has none.
        key: Identifier within its dataset (for messages and splits).
        extras: Other per-structure labels (energy, forces, ...).
    """

    structure: Structure
    hamiltonian: np.ndarray
    overlap: np.ndarray | None = None
    key: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
