"""Checks a hamkit store runs on the values of every record it reads.

The QH9 and MD17 readers check each record with :mod:`hamkit.data.validation` before
handing it out; a hamkit store is read the same way, so that a damaged or faulty file never
becomes a silently wrong training label. These functions take arrays already read from
the file (HDF5 access and its errors live in :mod:`hamkit.data.store.reader`) and raise
:class:`~hamkit.data.validation.RecordError` with the text
``"<file>: record '<key>': <problem>; <what to do>"``.

Thresholds (real data sit far inside them, see the module constants):

- H and S: finite; symmetric, or for periodic records H(-R) = H(R)^T, within
  :data:`~hamkit.data.validation.SYMMETRY_TOLERANCE` relative to ``max(1, max|M|)`` (the
  tolerance of the other readers); ``max|H|`` at most :data:`HAMILTONIAN_LIMIT`.
- S of a molecule (normalized atomic orbitals): diagonal within :data:`OVERLAP_TOLERANCE`
  of 1 and every ``|S_ij|`` at most ``1 + OVERLAP_TOLERANCE`` (Cauchy-Schwarz). S(R) of a
  crystal is a Fourier sum over the k-mesh, which a coarse mesh aliases (S_ii(0) = 0.97 for
  graphene on 2x2x1), so only S_ii(0) > 0 and ``|S_ij(R)| <= max S_ii(0)`` (within the
  same relative tolerance) are required.
- Positions and cell: finite, ``|x|`` at most :data:`POSITION_LIMIT`; positions of shape
  (n_atoms, 3).
- Atomic numbers: integers in 1..118 that the store's basis covers; charge an integer;
  energy a finite number; the ``extras`` attribute a JSON object.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.validation import (
    MAX_ATOMIC_NUMBER,
    SYMMETRY_TOLERANCE,
    check_numbers,
    check_positions,
    record_error,
)

HAMILTONIAN_LIMIT = 1e5
"""Largest accepted ``|H_ij|`` in Hartree. Contracted bases stay near the core orbital
energies (def2-SVP: ``max|H|`` 25 Ha for the embedded QM9 molecules, 648 Ha for the core
Hamiltonian of Kr; the 1s energy of Z = 118 is ~7e3 Ha), so a store above 1e5 Ha holds
garbage (a damaged exponent, a wrong unit). Uncontracted all-electron bases of heavy
elements (e.g. unc-ANO-RCC for Xe: 5e7 Ha) are beyond what a store is meant to hold."""

OVERLAP_TOLERANCE = 1e-2
"""Accepted ``|S_ii - 1|`` and ``|S_ij| - 1`` of normalized atomic orbitals (PySCF's overlaps in
the embedded stores: ``|S_ii - 1|`` < 1e-15, ``max|S_ij|`` 0.80; the margin leaves room for
numerical orbitals and float32 files of other codes)."""

POSITION_LIMIT = 1e6
"""Largest accepted ``|x|`` of a position or lattice vector, Angstrom."""

DAMAGED_FIX = "the file is damaged: regenerate or re-download it"
WRITER_FIX = "the file is damaged or was written by a faulty tool: regenerate it"

Source = str | os.PathLike[str]


def check_atomic_numbers(numbers: np.ndarray, basis: OrbitalBasis, source: Source, record: str) -> np.ndarray:
    """Atomic numbers must be one integer per atom, real elements, covered by the basis.

    Args:
        numbers: As stored, expected shape (n_atoms,).
        basis: The store's basis.
        source: File, for the message.
        record: Record label (``"'key'"``), for the message.

    Returns:
        int64 array, shape (n_atoms,).

    Raises:
        RecordError: Wrong shape, not integers, outside 1..118, or missing from the basis.
    """
    numbers = np.asarray(numbers)
    if numbers.ndim == 1 and numbers.dtype.kind in "iu" and numbers.size:
        if set(numbers.tolist()) <= set(basis.elements):  # fast path: every element known
            return numbers.astype(np.int64, copy=False)
    if numbers.ndim != 1:
        raise record_error(source, record, f"atomic numbers have shape {numbers.shape}, expected (n_atoms,)",
                           DAMAGED_FIX)
    if numbers.dtype.kind not in "iu":
        integral = (numbers.dtype.kind == "f" and bool(np.all(np.isfinite(numbers)))
                    and bool(np.all(numbers == np.round(numbers))))
        if not integral:
            raise record_error(source, record, f"atomic numbers {numbers.tolist()} are not integers",
                               DAMAGED_FIX)
    invalid = sorted({int(z) for z in numbers.tolist() if not 1 <= z <= MAX_ATOMIC_NUMBER})
    if invalid:
        raise record_error(source, record, f"has atomic number(s) {invalid}, which are not elements "
                           f"(1..{MAX_ATOMIC_NUMBER})", DAMAGED_FIX)
    return check_numbers(numbers, basis, source, record,
                         fix=f"the store's basis must cover every element it holds; {WRITER_FIX}")


def check_atom_positions(positions: np.ndarray, n_atoms: int, source: Source, record: str) -> np.ndarray:
    """Positions must be finite, of sane size, and exactly one (x, y, z) row per atom.

    Args:
        positions: As stored, expected shape (n_atoms, 3), Angstrom.
        n_atoms: Number of atoms.
        source: File, for the message.
        record: Record label, for the message.

    Returns:
        float64 array, shape (n_atoms, 3).

    Raises:
        RecordError: Wrong shape, NaN/inf, or a coordinate beyond :data:`POSITION_LIMIT`.
    """
    shape = np.shape(positions)
    if shape != (n_atoms, 3):
        raise record_error(source, record, f"positions have shape {shape}, expected ({n_atoms}, 3) "
                           "(one row per atom)", DAMAGED_FIX)
    if positions.dtype != np.float64:
        positions = np.asarray(positions, dtype=np.float64)
    largest = float(np.abs(positions).max())  # NaN propagates, inf stays inf
    if not math.isfinite(largest):
        check_positions(positions, n_atoms, source, record)  # raises its NaN/inf error
    _check_length_scale(largest, "positions", source, record)
    return positions


def check_cell_values(cell: np.ndarray | None, source: Source, record: str) -> None:
    """A (3, 3) cell must be finite and of sane size (its shape and rank are checked elsewhere).

    Args:
        cell: Lattice vectors as rows, Angstrom, or None.
        source: File, for the message.
        record: Record label, for the message.

    Raises:
        RecordError: NaN/inf or a component beyond :data:`POSITION_LIMIT`.
    """
    if cell is None or np.shape(cell) != (3, 3):
        return
    largest = float(np.abs(np.asarray(cell, dtype=np.float64)).max())
    if not math.isfinite(largest):
        raise record_error(source, record, "cell contains NaN or infinite values", DAMAGED_FIX)
    _check_length_scale(largest, "cell", source, record)


def _check_length_scale(largest: float, name: str, source: Source, record: str) -> None:
    """``largest`` (max |x| of positions or cell, Angstrom) must stay below :data:`POSITION_LIMIT`."""
    if largest > POSITION_LIMIT:
        raise record_error(source, record, f"{name} reach {largest:.3g} Angstrom (more than "
                           f"{POSITION_LIMIT:.0e})", DAMAGED_FIX)


def shown(value: Any) -> Any:
    """``value`` for a message: numpy scalars as Python scalars (``0.5``, not ``np.float64(0.5)``)."""
    return value.item() if isinstance(value, np.generic) else value


def check_charge(value: Any, source: Source, record: str) -> int:
    """The ``charge`` attribute must be an integer (an integral float is accepted).

    Raises:
        RecordError: Not a single integral number.
    """
    if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise record_error(source, record, f"charge is {shown(value)!r}, not an integer", WRITER_FIX)


def check_energy(value: Any, source: Source, record: str) -> float:
    """The ``energy`` attribute must be one finite number (Hartree).

    Raises:
        RecordError: Not a number, or NaN/inf.
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        if math.isfinite(value):
            return float(value)
    raise record_error(source, record, f"energy is {shown(value)!r}, not a finite number", WRITER_FIX)


def parse_extras(text: Any, source: Source, record: str) -> dict[str, Any]:
    """Decode the ``extras`` attribute, a JSON object of scalar extras.

    Args:
        text: The attribute (``str`` or ``bytes``); None when absent.
        source: File, for the message.
        record: Record label, for the message.

    Returns:
        The extras (empty when absent).

    Raises:
        RecordError: Not text, not valid JSON, or not a JSON object.
    """
    if text is None:
        return {}
    if isinstance(text, np.bytes_ | np.str_):
        text = text.item()
    if not isinstance(text, str | bytes):
        raise record_error(source, record, f"attribute 'extras' is {type(text).__name__}, not JSON text",
                           WRITER_FIX)
    try:
        extras = json.loads(text)
    except ValueError as error:
        raise record_error(source, record, f"attribute 'extras' is not valid JSON ({error})",
                           WRITER_FIX) from None
    if not isinstance(extras, dict):
        raise record_error(source, record, f"attribute 'extras' is a JSON {type(extras).__name__}, "
                           "expected an object", WRITER_FIX)
    return extras


def partner_indices(translations: np.ndarray) -> np.ndarray:
    """Position of -R for every R (translations closed under R -> -R).

    Args:
        translations: Integer lattice translations, shape (n_R, 3).

    Returns:
        int64 array, shape (n_R,).
    """
    lookup = {tuple(row): position for position, row in enumerate(translations.tolist())}
    return np.array([lookup[tuple(-v for v in row)] for row in translations.tolist()], dtype=np.int64)


def check_operators(hamiltonian: np.ndarray, overlap: np.ndarray | None, *,
                    partners: np.ndarray | None = None, translations: np.ndarray | None = None,
                    home: int = 0, source: Source, record: str) -> None:
    """H and S together: finite, of sane size, symmetric (periodic: M(-R) = M(R)^T), S an overlap.

    One pass over both matrices (a handful of numpy calls: this runs on every record read).

    Args:
        hamiltonian: Molecule: H, shape (n, n). Periodic: H(R), shape (n_R, n, n).
        overlap: S of the same shape, or None.
        partners: Periodic only: position of -R for each R, shape (n_R,).
        translations: Periodic only: lattice translations, shape (n_R, 3).
        home: Periodic only: position of R = 0.
        source: File, for the message.
        record: Record label, for the message.

    Raises:
        RecordError: NaN/inf; ``max|H|`` above :data:`HAMILTONIAN_LIMIT`; asymmetry above
            :data:`~hamkit.data.validation.SYMMETRY_TOLERANCE` times ``max(1, max|M|)``; a
            molecule's ``|S_ii - 1|`` or ``|S_ij| - 1`` above :data:`OVERLAP_TOLERANCE`; a
            crystal's S_ii(0) <= 0 or ``|S_ij(R)|`` above ``max S_ii(0)``.
    """
    names = ("hamiltonian",) if overlap is None else ("hamiltonian", "overlap")
    stack = hamiltonian[None] if overlap is None else np.stack((hamiltonian, overlap))
    axes = tuple(range(1, stack.ndim))
    largest = np.abs(stack).max(axis=axes).tolist()  # NaN propagates, inf stays inf
    for name, value in zip(names, largest):
        if not math.isfinite(value):
            raise record_error(source, record, f"{name} contains NaN or infinite values", DAMAGED_FIX)
    if largest[0] > HAMILTONIAN_LIMIT:
        raise record_error(source, record, f"hamiltonian has |H| up to {largest[0]:.3g} Hartree, more "
                           f"than the {HAMILTONIAN_LIMIT:.0e} Hartree any atomic-orbital basis gives",
                           DAMAGED_FIX)
    paired = stack if partners is None else stack[:, partners]
    asymmetry = np.abs(paired - stack.swapaxes(-1, -2)).max(axis=axes).tolist()
    for name, value, scale in zip(names, asymmetry, largest):
        if value > SYMMETRY_TOLERANCE * max(1.0, scale):
            problem = _asymmetry_problem(stack[names.index(name)], partners, translations, name)
            raise record_error(source, record, problem, DAMAGED_FIX)
    if overlap is not None and partners is None:
        _check_normalized(overlap, largest[1], source, record)
    elif overlap is not None:
        _check_gram(overlap[home], largest[1], source, record)


def _asymmetry_problem(matrices: np.ndarray, partners: np.ndarray | None, translations: np.ndarray | None,
                       name: str) -> str:
    """Where H or S (shape (n, n) or (n_R, n, n)) breaks symmetry worst, for the message."""
    if partners is None or translations is None:
        value = float(np.abs(matrices - matrices.T).max())
        return f"{name} is not symmetric (max |M - M^T| = {value:.3g})"
    per_translation = np.abs(matrices[partners] - matrices.transpose(0, 2, 1)).max(axis=(1, 2))
    worst = int(np.argmax(per_translation))
    vector = tuple(int(v) for v in translations[worst])
    return f"{name} breaks M(-R) = M(R)^T at R = {vector} (max difference {per_translation[worst]:.3g})"


def _check_normalized(home_overlap: np.ndarray, largest: float, source: Source, record: str) -> None:
    """S of a molecule (shape (n, n)), normalized orbitals: S_ii = 1 and ``largest`` = max|S| <= 1.

    Raises:
        RecordError: Beyond :data:`OVERLAP_TOLERANCE`.
    """
    diagonal = np.diagonal(home_overlap)
    if float(diagonal.min()) >= 1.0 - OVERLAP_TOLERANCE and largest <= 1.0 + OVERLAP_TOLERANCE:
        return
    worst = int(np.argmax(np.abs(diagonal - 1.0)))
    if abs(diagonal[worst] - 1.0) > OVERLAP_TOLERANCE:
        raise record_error(source, record, f"overlap has S_ii = {diagonal[worst]:.6g} at orbital {worst}, "
                           "but atomic orbitals are normalized (S_ii = 1)", DAMAGED_FIX)
    raise record_error(source, record, f"overlap has |S_ij| = {largest:.6g} > 1, impossible for normalized "
                       "atomic orbitals", DAMAGED_FIX)


def _check_gram(home_overlap: np.ndarray, largest: float, source: Source, record: str) -> None:
    """S(R) of a crystal: S_ii(0) > 0 and every ``|S_ij(R)| <= max_i S_ii(0)`` (Cauchy-Schwarz).

    S(R) comes from a Fourier sum over the k-mesh, so a coarse mesh folds distant
    translations into S(0) and S_ii(0) differs from 1 (0.97 for graphene on a 2x2x1 mesh);
    only the properties of any overlap (Gram) matrix are checked.

    Args:
        home_overlap: S(R = 0), shape (n, n).
        largest: ``max|S(R)|`` over all translations.
        source: File, for the message.
        record: Record label, for the message.

    Raises:
        RecordError: A non-positive S_ii(0), or an element above the largest S_ii(0) by more than
            :data:`OVERLAP_TOLERANCE` (relative).
    """
    diagonal = np.diagonal(home_overlap)
    smallest, biggest = float(diagonal.min()), float(diagonal.max())
    if smallest <= 0.0:
        worst = int(np.argmin(diagonal))
        raise record_error(source, record, f"overlap S(R=0) has S_ii = {smallest:.6g} at orbital {worst}, "
                           "but an overlap's diagonal is positive", DAMAGED_FIX)
    if largest > biggest * (1.0 + OVERLAP_TOLERANCE):
        raise record_error(source, record, f"overlap has |S_ij(R)| = {largest:.6g}, above the largest "
                           f"S_ii(0) = {biggest:.6g} (impossible for an overlap: |S_ij| <= sqrt(S_ii S_jj))",
                           DAMAGED_FIX)
