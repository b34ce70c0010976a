"""Labelled structures: atoms plus H (and S) in hamkit's canonical orbital convention.

Molecules carry one matrix H (n_orbitals, n_orbitals). Periodic structures (crystals,
2D materials) carry real-space matrices, one per lattice translation R::

    hamiltonian[r][mu, nu] = <phi_mu(x - tau_i) | H | phi_nu(x - tau_j - T_r)>,
    T_r = translations[r] @ cell      (Angstrom; ``cell`` holds lattice vectors as rows)

with mu on atom i of the home cell and nu on atom j of the cell shifted by T_r. Both R
and -R are stored, and H(-R) = H(R)^T (the Hermitian pairing of real matrices). The
Bloch matrices are H(k) = sum_R exp(2 pi i k.R) H(R) with k in reduced coordinates
(:mod:`hamkit.physics.bloch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def pbc_flags(flags: Any) -> tuple[bool, bool, bool]:
    """Periodic directions (a1, a2, a3) as three bools.

    Args:
        flags: Three flags (tuple, list or array), or one flag for all three directions.

    Returns:
        ``(bool, bool, bool)``.
    """
    first, second, third = (bool(flag) for flag in np.broadcast_to(np.asarray(flags, dtype=bool), (3,)))
    return (first, second, third)


def translation_key(values: Iterable[Any]) -> tuple[int, int, int]:
    """A lattice translation R (three integers, e.g. a row of ``translations``) as a hashable key.

    Args:
        values: The three components.

    Returns:
        ``(Rx, Ry, Rz)`` as Python ints.

    Raises:
        ValueError: ``values`` does not hold exactly three components.
    """
    x, y, z = (int(v) for v in values)
    return (x, y, z)


@dataclass(frozen=True)
class Structure:
    """Atoms of a molecule or of a periodic crystal.

    Attributes:
        numbers: Atomic numbers, shape (n_atoms,), int64.
        positions: Cartesian (x, y, z) positions in Angstrom, shape (n_atoms, 3), float64.
        charge: Total charge (closed-shell occupations use it).
        cell: Lattice vectors as ROWS, shape (3, 3), Angstrom; None for a molecule.
        pbc: Periodic directions (a1, a2, a3); all False for a molecule, (True, True, False)
            for a 2D material whose third vector spans the vacuum.
    """

    numbers: np.ndarray
    positions: np.ndarray
    charge: int = 0
    cell: np.ndarray | None = None
    pbc: tuple[bool, bool, bool] = (False, False, False)

    def __post_init__(self) -> None:
        numbers = np.asarray(self.numbers, dtype=np.int64).reshape(-1)
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.shape != (len(numbers), 3):
            raise ValueError(
                f"positions have shape {positions.shape}, expected ({len(numbers)}, 3)"
            )
        object.__setattr__(self, "numbers", numbers)
        object.__setattr__(self, "positions", positions)
        pbc = pbc_flags(self.pbc)
        object.__setattr__(self, "pbc", pbc)
        if self.cell is not None:
            cell = np.asarray(self.cell, dtype=np.float64)
            if cell.shape != (3, 3):
                raise ValueError(f"cell has shape {cell.shape}, expected (3, 3) (lattice vectors as rows)")
            if abs(np.linalg.det(cell)) < 1e-8:
                raise ValueError("cell is singular: its three lattice vectors must span space")
            object.__setattr__(self, "cell", cell)
        elif any(pbc):
            raise ValueError("a periodic structure (pbc with a True entry) needs a cell")

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return len(self.numbers)

    @property
    def is_periodic(self) -> bool:
        """True when the structure repeats along at least one lattice vector."""
        return any(self.pbc)

    def require_cell(self) -> np.ndarray:
        """The lattice vectors as rows, (3, 3), of a structure that has a cell (every periodic one).

        Raises:
            ValueError: The structure has no cell (a molecule).
        """
        if self.cell is None:
            raise ValueError("the structure has no cell (a molecule): lattice vectors are needed here")
        return self.cell


@dataclass(frozen=True)
class HamiltonianRecord:
    """A structure with its Hamiltonian (and overlap) in the canonical convention, Hartree.

    Attributes:
        structure: The atoms.
        hamiltonian: Molecule: H, shape (n_orbitals, n_orbitals), symmetric. Periodic:
            H(R), shape (n_translations, n_orbitals, n_orbitals) (module docstring).
        overlap: S (same shape as ``hamiltonian``), or None when the source has none.
        key: Identifier within its dataset (for messages and splits).
        extras: Other per-structure labels (energy, forces, ``fermi_level`` in Hartree,
            ``n_electrons`` of periodic cells with pseudopotentials, ...).
        translations: Periodic only: lattice translations R of the matrices, shape
            (n_translations, 3), int64, in units of the cell vectors; None for a molecule.
    """

    structure: Structure
    hamiltonian: np.ndarray
    overlap: np.ndarray | None = None
    key: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    translations: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.translations is None:
            return
        translations = np.asarray(self.translations, dtype=np.int64).reshape(-1, 3)
        object.__setattr__(self, "translations", translations)
        expected = len(translations)
        for name in ("hamiltonian", "overlap"):
            matrices = getattr(self, name)
            if matrices is not None and (np.ndim(matrices) != 3 or np.shape(matrices)[0] != expected):
                raise ValueError(f"{name} has shape {np.shape(matrices)}, expected ({expected}, n, n): "
                                 "one matrix per lattice translation")

    @property
    def is_periodic(self) -> bool:
        """True for real-space matrices H(R) of a periodic structure."""
        return self.translations is not None

    def home_cell(self, matrices: np.ndarray) -> np.ndarray:
        """The R = 0 matrix of ``hamiltonian`` or ``overlap`` (the matrix itself for a molecule).

        Raises:
            ValueError: A periodic record without the R = (0, 0, 0) translation.
        """
        if self.translations is None:
            return matrices
        position = self.translation_lookup().get((0, 0, 0))
        if position is None:
            raise ValueError(f"record {self.key!r} has no R = (0, 0, 0) matrix")
        return matrices[position]

    def translation_lookup(self) -> dict[tuple[int, int, int], int]:
        """``{(Rx, Ry, Rz): position in translations}`` (empty for a molecule)."""
        if self.translations is None:
            return {}
        return {translation_key(row): r for r, row in enumerate(self.translations)}
