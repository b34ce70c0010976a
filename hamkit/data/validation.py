"""Checks that dataset readers run on every record before handing it out.

A reader converts a foreign file into canonical H and S; a file that is truncated, holds a
matrix of the wrong size, an element the basis lacks, a non-symmetric or non-finite matrix
must never turn into a silently wrong label. Every check here raises :class:`RecordError`
(a :class:`~hamkit.errors.HamkitError`, so the command line prints it as a message) whose
text names the file, the record, what is wrong and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.errors import HamkitError

SYMMETRY_TOLERANCE = 1e-6
"""Largest accepted ``|M - M^T|`` relative to ``max(1, max|M|)`` (H in Hartree, S)."""


MAX_ATOMIC_NUMBER = 118


class RecordError(HamkitError):
    """A record (or a whole file) that a reader cannot turn into a correct label."""


def record_error(
    source: str | os.PathLike[str], record: str | None, problem: str, fix: str = ""
) -> RecordError:
    """Build the error ``"<file>: record <id>: <problem>; <fix>"``.

    Args:
        source: The file or folder being read.
        record: How the user finds the record (``"id=7"``, ``"row 3"``, ``"folder 12"``);
            None for a problem of the whole file.
        problem: What is wrong.
        fix: What to do about it (optional).

    Returns:
        The error, to be raised by the caller.
    """
    where = f"{source}: record {record}: " if record is not None else f"{source}: "
    return RecordError(where + problem + (f"; {fix}" if fix else ""))


def element_symbol(atomic_number: int) -> str:
    """Chemical symbol of ``atomic_number`` (``"Z=<n>"`` when it is not an element)."""
    from pyscf.data.elements import ELEMENTS

    return ELEMENTS[atomic_number] if 0 < atomic_number < len(ELEMENTS) else f"Z={atomic_number}"


def check_numbers(
    numbers: np.ndarray,
    basis: OrbitalBasis,
    source: str | os.PathLike[str],
    record: str,
    fix: str = "choose a basis that has them (option 'basis')",
) -> np.ndarray:
    """Atomic numbers must be known elements that the basis covers.

    Args:
        numbers: Atomic numbers, shape (n_atoms,).
        basis: The dataset's basis.
        source: File, for the message.
        record: Record name, for the message.
        fix: What to do when an element is missing from the basis.

    Returns:
        ``numbers`` as int64, shape (n_atoms,).

    Raises:
        RecordError: Empty structure, or an element outside the basis.
    """
    numbers = np.asarray(numbers).reshape(-1)
    if numbers.size == 0:
        raise record_error(source, record, "has no atoms", "the file may be damaged")
    if not np.issubdtype(numbers.dtype, np.integer):
        if not np.all(np.isfinite(numbers)) or np.any(numbers != np.round(numbers)):
            raise record_error(source, record, f"atomic numbers {numbers.tolist()} are not integers",
                               "the file may be damaged")
    numbers = numbers.astype(np.int64)
    missing = sorted(set(numbers.tolist()) - set(basis.elements))
    if missing:
        symbols = ", ".join(element_symbol(z) for z in missing)
        raise record_error(
            source, record,
            f"has element(s) {symbols} (Z={missing}) that basis {basis.name!r} does not cover "
            f"(it covers Z={list(basis.elements)})",
            fix,
        )
    return numbers


def check_positions(
    positions: np.ndarray, n_atoms: int, source: str | os.PathLike[str], record: str
) -> np.ndarray:
    """Positions must be finite, one (x, y, z) row per atom.

    Args:
        positions: Any array with ``3 * n_atoms`` values.
        n_atoms: Number of atoms.
        source: File, for the message.
        record: Record name, for the message.

    Returns:
        float64 array of shape (n_atoms, 3).

    Raises:
        RecordError: Wrong count or non-finite values.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.size != 3 * n_atoms:
        raise record_error(source, record,
                           f"has {positions.size} position values for {n_atoms} atoms "
                           f"(expected {3 * n_atoms})", "the file may be truncated or damaged")
    if not np.all(np.isfinite(positions)):
        raise record_error(source, record, "has NaN or infinite positions",
                           "the file is damaged: download or regenerate it")
    return positions.reshape(n_atoms, 3)


def check_matrix(
    matrix: np.ndarray,
    n_orbitals: int,
    *,
    name: str,
    source: str | os.PathLike[str],
    record: str,
    basis_name: str = "",
    tolerance: float = SYMMETRY_TOLERANCE,
) -> np.ndarray:
    """An operator matrix must be square of the basis size, finite and symmetric.

    Args:
        matrix: The matrix, or its ``n_orbitals**2`` values in row-major order.
        n_orbitals: Orbital count of the structure in the dataset's basis.
        name: ``"hamiltonian"`` or ``"overlap"`` (for the message).
        source: File, for the message.
        record: Record name, for the message.
        basis_name: Basis name, for the message.
        tolerance: Accepted asymmetry relative to ``max(1, max|M|)``.

    Returns:
        float64 array of shape (n_orbitals, n_orbitals) (not symmetrized).

    Raises:
        RecordError: Wrong size, NaN/inf, or asymmetry above the tolerance.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.size != n_orbitals * n_orbitals or (matrix.ndim == 2 and matrix.shape[0] != n_orbitals):
        label = f"basis {basis_name!r}" if basis_name else "the basis"
        raise record_error(
            source, record,
            f"{name} has shape {matrix.shape} ({matrix.size} values), but {label} gives "
            f"{n_orbitals} orbitals for this structure ({n_orbitals}x{n_orbitals} values)",
            "check the 'basis' option against the basis the file was computed in, "
            "or the file is truncated",
        )
    matrix = matrix.reshape(n_orbitals, n_orbitals)
    if not np.all(np.isfinite(matrix)):
        raise record_error(source, record, f"{name} contains NaN or infinite values",
                           "the file is damaged: download or regenerate it")
    scale = max(1.0, float(np.abs(matrix).max()))
    asymmetry = float(np.abs(matrix - matrix.T).max())
    if asymmetry > tolerance * scale:
        raise record_error(
            source, record,
            f"{name} is not symmetric (max |M - M^T| = {asymmetry:.3g})",
            "the file is damaged or not in the layout this reader expects",
        )
    return matrix


def scan_basis(
    basis_name: str,
    elements_by_record: Sequence[tuple[str, Sequence[int] | np.ndarray]],
    source: str | os.PathLike[str],
) -> OrbitalBasis:
    """Build a named basis for every element of a file, naming the record of a missing one.

    Args:
        basis_name: PySCF basis name (e.g. ``"def2-svp"``).
        elements_by_record: ``(record name, atomic numbers (list or array))`` pairs; only the first record
            holding each element is needed, so callers may pass one pair per element.
        source: File, for the message.

    Returns:
        The basis covering every element present.

    Raises:
        RecordError: No records, or an element PySCF's basis lacks (names the record).
    """
    first_record: dict[int, str] = {}
    for record, numbers in elements_by_record:
        for z in np.asarray(numbers).reshape(-1).tolist():
            first_record.setdefault(int(z), record)
    if not first_record:
        raise record_error(source, None, "holds no structures", "check the path")
    shells: dict[int, tuple[int, ...]] = {}
    for z, record in sorted(first_record.items()):
        if not 1 <= z <= MAX_ATOMIC_NUMBER:
            raise record_error(source, record, f"has atomic number {z}, which is not an element",
                               "the file is damaged or not in the layout this reader expects")
        try:
            shells[z] = OrbitalBasis.from_name(basis_name, [z]).shell_ls(z)
        except (ValueError, KeyError, IndexError) as error:
            raise record_error(
                source, record,
                f"has element {element_symbol(z)} (Z={z}), which basis {basis_name!r} lacks ({error})",
                "choose a basis that has it (option 'basis')",
            ) from None
    return OrbitalBasis.from_shells(shells, basis_name)
