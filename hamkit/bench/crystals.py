"""Periodic supercells of growing size for scaling benchmarks of crystal models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hamkit.bench.molecules import SizedMolecule
from hamkit.data.structure import Structure
from hamkit.errors import HamkitError

DEFAULT_SUPERCELLS = (1, 2, 3, 4)
"""Default supercell repeats of periodic benchmarks (n x n for a 2D material)."""


def supercell(structure: Structure, repeats: int) -> Structure:
    """The ``repeats`` x ``repeats`` supercell along the periodic directions (one along the others).

    Args:
        structure: A periodic structure.
        repeats: Copies along each periodic lattice vector.

    Returns:
        The supercell (atoms of copy (a, b, c) follow those of the primitive cell).

    Raises:
        ValueError: The structure has no cell (a molecule; :func:`supercell_series` refuses one
            with a clear error first).
    """
    cell = structure.require_cell()
    counts = [repeats if flag else 1 for flag in structure.pbc]
    shifts = np.array([(a, b, c) for a in range(counts[0]) for b in range(counts[1]) for c in range(counts[2])],
                      dtype=np.float64) @ cell
    positions = (structure.positions[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    return Structure(np.tile(structure.numbers, len(shifts)), positions, structure.charge,
                     cell=cell * np.asarray(counts, dtype=np.float64)[:, None], pbc=structure.pbc)


def supercell_series(structure: Structure, sizes: Sequence[int]) -> list[SizedMolecule]:
    """Supercells ``n x n`` of a crystal for each ``n`` in ``sizes`` (``size`` = n).

    Raises:
        HamkitError: A molecule, or a size below 1.
    """
    if not structure.is_periodic:
        raise HamkitError("supercells need a periodic structure")
    if any(int(size) < 1 for size in sizes):
        raise HamkitError(f"benchmark sizes must be positive integers, got {list(sizes)}")
    periodic = sum(structure.pbc)
    return [SizedMolecule("x".join([str(int(n))] * periodic) + " supercell", int(n), supercell(structure, int(n)))
            for n in sizes]
