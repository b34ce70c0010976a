"""Geometry sanity checks: refuse structures no Hamiltonian model (or DFT code) can use.

Every structure hamkit reads for prediction, SCF or training passes :func:`check_geometry`
before any model work: finite coordinates (and cell) within :data:`MAX_COORDINATE`, atomic
numbers of real elements, a cell that spans space, and no two atoms closer than :data:`MIN_DISTANCE`, periodic images
included. Atom numbers in messages are **1-based**, in file order (atom 1 is the first
atom line of an xyz frame).

Close pairs are found with a k-d tree (:class:`scipy.spatial.cKDTree`), so the check is
O(N log N): well under a second for 10^4 atoms. Crystals are searched over the periodic
images of a Minkowski-reduced cell (:func:`ase.geometry.minkowski_reduce`), which also
catches an atom near its own image in a cell that is too small.

:func:`check_overlap` refuses an overlap matrix S that is singular or indefinite.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hamkit.data.structure import Structure, translation_key
from hamkit.errors import HamkitError

MIN_DISTANCE = 0.1
"""Angstrom. The shortest real bond (H2, 0.74 A) is 7x longer; atoms this close are a
duplicated line, a unit mix-up (Bohr read as Angstrom scales by 0.53, not by 0.1) or a
broken frame, and their basis functions are nearly identical (S near singular)."""

MAX_ATOMIC_NUMBER = 118
"""Oganesson: atomic numbers 1..118 are elements."""

SINGULAR_OVERLAP = 1e-10
"""Smallest eigenvalue of S at or below which S is refused as singular (or indefinite).

:func:`hamkit.physics.eigen.solve_generalized_eigen` projects out eigenvalues <= 1e-8
(near-linear dependence of diffuse functions): those stay accepted. Two orders below that
S is singular to working accuracy (exactly coincident functions give ~1e-16, round-off)."""

MAX_COORDINATE = 1e6
"""Angstrom (0.1 mm). Larger coordinates or lattice vectors are a unit or format error; they
also overflow the lattice reduction and the neighbour search."""

MAX_IMAGE_SHIFTS = 343
"""Most lattice translations searched for close periodic images (7 per periodic axis)."""


@dataclass(frozen=True)
class ClosePair:
    """The closest pair of atoms found within a search radius.

    Attributes:
        first: 0-based index of the first atom.
        second: 0-based index of the second atom.
        distance: Their distance in Angstrom.
        translation: Lattice translation (cell units) of ``second``'s image; zeros within
            the home cell.
    """

    first: int
    second: int
    distance: float
    translation: tuple[int, int, int] = (0, 0, 0)


def check_structure(structure: Structure, where: str, min_distance: float = MIN_DISTANCE) -> None:
    """:func:`check_geometry` of a :class:`~hamkit.data.structure.Structure`."""
    check_geometry(structure.numbers, structure.positions, where, structure.cell, structure.pbc, min_distance)


def check_geometry(
    numbers: Sequence[int] | np.ndarray, positions: np.ndarray, where: str,
    cell: np.ndarray | None = None, pbc: Sequence[bool] = (False, False, False),
    min_distance: float = MIN_DISTANCE,
) -> None:
    """Refuse a structure that no model or DFT code can use.

    Args:
        numbers: Atomic numbers, shape (n_atoms,).
        positions: Cartesian positions in Angstrom, shape (n_atoms, 3).
        where: What the structure is (file, frame, record), for messages.
        cell: Lattice vectors as rows (3, 3), Angstrom; only used where ``pbc`` has a True.
        pbc: Periodic directions.
        min_distance: Closest allowed distance between atoms (and periodic images), Angstrom.

    Raises:
        HamkitError: No atoms, wrong shapes, atomic numbers outside 1..118, non-finite
            coordinates or cell, coordinates or lattice vectors beyond
            :data:`MAX_COORDINATE`, a cell of (near) zero volume, or two atoms (or an atom
            and a periodic image) closer than ``min_distance``; the message names
            ``where``, the atoms (1-based) and their distance.
    """
    numbers = np.asarray(numbers)
    positions = np.asarray(positions, dtype=np.float64)
    _check_shapes(numbers, positions, where)
    _check_elements(numbers, where)
    _check_finite(numbers, positions, where)
    periodic = np.asarray(pbc, dtype=bool).reshape(3)
    if periodic.any():
        cell = _checked_cell(cell, where)
        pair = closest_periodic_pair(positions, cell, periodic, min_distance, where)
    else:
        pair = closest_pair(positions, min_distance)
    if pair is not None:
        raise HamkitError(_close_pair_message(pair, numbers, where, min_distance))


def _check_shapes(numbers: np.ndarray, positions: np.ndarray, where: str) -> None:
    if numbers.ndim != 1:
        raise HamkitError(f"{where}: atomic numbers have shape {numbers.shape}, expected (n_atoms,)")
    if len(numbers) == 0:
        raise HamkitError(f"{where}: the structure has no atoms")
    if positions.shape != (len(numbers), 3):
        raise HamkitError(f"{where}: positions have shape {positions.shape}, expected ({len(numbers)}, 3)")


def _check_elements(numbers: np.ndarray, where: str) -> None:
    integral = np.issubdtype(numbers.dtype, np.integer) or (
        np.issubdtype(numbers.dtype, np.floating) and bool(np.all(np.isfinite(numbers)))
        and bool(np.all(numbers == np.round(numbers))))
    bad = np.arange(len(numbers)) if not integral else np.flatnonzero(
        (numbers < 1) | (numbers > MAX_ATOMIC_NUMBER))
    if bad.size:
        listed = ", ".join(f"atom {i + 1}: {numbers[i].item()!r}" for i in bad[:5])
        raise HamkitError(f"{where}: atomic numbers must be elements 1..{MAX_ATOMIC_NUMBER} "
                          f"({listed}{', ...' if bad.size > 5 else ''}; atoms 1-based); "
                          "dummy atoms ('X') and unknown symbols cannot be predicted")


def _check_finite(numbers: np.ndarray, positions: np.ndarray, where: str) -> None:
    bad = np.flatnonzero(~np.isfinite(positions).all(axis=1))
    if bad.size:
        raise HamkitError(f"{where}: {bad.size} atom(s) have non-finite coordinates "
                          f"({_atoms_at(numbers, positions, bad)}; atoms 1-based): fix the coordinates (a "
                          "broken or truncated frame? a failed optimization?)")
    bad = np.flatnonzero((np.abs(positions) > MAX_COORDINATE).any(axis=1))
    if bad.size:
        raise HamkitError(f"{where}: {bad.size} atom(s) lie beyond {MAX_COORDINATE:g} A "
                          f"({_atoms_at(numbers, positions, bad)}; atoms 1-based): coordinates must be in "
                          "Angstrom; fix the units or the file")


def _atoms_at(numbers: np.ndarray, positions: np.ndarray, indices: np.ndarray) -> str:
    """``"atom 3 (O) at [x, y, z]; ..."`` for the first five of ``indices`` (0-based in, 1-based out)."""
    listed = "; ".join(f"atom {i + 1} ({_symbol(numbers[i])}) at {positions[i].tolist()}" for i in indices[:5])
    return listed + ("; ..." if len(indices) > 5 else "")


def _checked_cell(cell: np.ndarray | None, where: str) -> np.ndarray:
    """The cell as a (3, 3) float array, finite and of non-zero volume."""
    if cell is None:
        raise HamkitError(f"{where}: the structure is periodic but has no cell")
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape != (3, 3):
        raise HamkitError(f"{where}: the cell has shape {cell.shape}, expected (3, 3) lattice vectors")
    if not np.isfinite(cell).all():
        raise HamkitError(f"{where}: the cell has non-finite entries ({cell.tolist()}): fix the lattice vectors")
    if np.abs(cell).max() > MAX_COORDINATE:
        raise HamkitError(f"{where}: the cell has entries beyond {MAX_COORDINATE:g} A ({cell.tolist()}): "
                          "lattice vectors must be in Angstrom; fix the units or the file")
    volume = abs(float(np.linalg.det(cell)))
    if not volume > 1e-8:
        raise HamkitError(f"{where}: the cell is degenerate (volume {volume:.3g} A^3, lattice vectors "
                          f"{cell.tolist()}): its three vectors must span space (give 2D materials "
                          "and wires a vacuum vector along their non-periodic directions)")
    return cell


def closest_pair(positions: np.ndarray, radius: float) -> ClosePair | None:
    """The closest pair of atoms within ``radius`` (Angstrom), or None.

    Args:
        positions: (n_atoms, 3) finite positions.
        radius: Search radius.
    """
    from scipy.spatial import cKDTree

    pairs = cKDTree(positions).query_pairs(radius, output_type="ndarray")
    if len(pairs) == 0:
        return None
    distances = np.linalg.norm(positions[pairs[:, 0]] - positions[pairs[:, 1]], axis=1)
    best = int(np.argmin(distances))
    first, second = sorted(int(i) for i in pairs[best])
    return ClosePair(first, second, float(distances[best]))


def closest_periodic_pair(
    positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray, radius: float, where: str,
) -> ClosePair | None:
    """The closest pair of atoms or periodic images within ``radius``, or None.

    Positions are wrapped into a Minkowski-reduced cell, whose lattice planes are about as
    far apart as its shortest vector, so only a few translations per periodic axis can hold
    a close image.

    Args:
        positions: (n_atoms, 3) finite positions, Angstrom.
        cell: (3, 3) lattice vectors as rows, non-singular.
        pbc: (3,) periodic directions.
        radius: Search radius, Angstrom.
        where: For messages.

    Returns:
        The closest pair; ``translation`` (in units of ``cell``) places ``second``'s image,
        and ``first == second`` is an atom near its own image.

    Raises:
        HamkitError: The cell is so small or skewed that too many images would be searched.
    """
    from ase.geometry import minkowski_reduce
    from scipy.spatial import cKDTree

    try:
        reduced, operation = minkowski_reduce(cell, pbc)
    except (RuntimeError, ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
        raise HamkitError(f"{where}: cannot reduce the cell {cell.tolist()} ({type(error).__name__}: "
                          f"{error}): its lattice vectors are too skewed or too different in length; "
                          "check the cell") from None
    shortest = min(np.flatnonzero(pbc), key=lambda axis: float(np.linalg.norm(reduced[axis])))
    length = float(np.linalg.norm(reduced[shortest]))
    if length < radius:  # every atom is that close to its own image
        return ClosePair(0, 0, length, translation_key(operation[shortest]))
    fractional = np.linalg.solve(reduced.T, positions.T).T
    fractional[:, pbc] -= np.floor(fractional[:, pbc])
    wrapped = fractional @ reduced
    ranges = _image_ranges(reduced, pbc, radius, where)
    home = cKDTree(wrapped)
    best: tuple[float, int, int, np.ndarray] | None = None
    for shift in itertools.product(*ranges):
        found = _closest_to_shift(home, wrapped, np.asarray(shift) @ reduced, radius, cKDTree)
        if found is not None and (best is None or found[0] < best[0]):
            best = (*found, np.asarray(shift) @ reduced)
    if best is None:
        return None
    distance, first, second, vector = best
    offset = (wrapped[second] - positions[second]) - (wrapped[first] - positions[first]) + vector
    translation = translation_key(np.rint(np.linalg.solve(cell.T, offset)))
    return ClosePair(first, second, distance, translation)


def _image_ranges(reduced: np.ndarray, pbc: np.ndarray, radius: float, where: str) -> list[range]:
    """Translations to search along each axis: a close image differs by < 1 + radius / d_k."""
    volume = abs(float(np.linalg.det(reduced)))
    ranges = []
    for axis in range(3):
        if not pbc[axis]:
            ranges.append(range(0, 1))
            continue
        spacing = volume / float(np.linalg.norm(np.cross(reduced[(axis + 1) % 3], reduced[(axis + 2) % 3])))
        reach = 1 + int(np.ceil(radius / spacing))
        ranges.append(range(-reach, reach + 1))
    if np.prod([len(r) for r in ranges]) > MAX_IMAGE_SHIFTS:
        raise HamkitError(f"{where}: the cell is too small (lattice vectors {reduced.tolist()} after "
                          f"reduction): atoms would be closer than {radius} A to their own periodic "
                          f"images; check the lattice vectors and their units")
    return ranges


def _closest_to_shift(home, wrapped: np.ndarray, vector: np.ndarray, radius: float,
                      tree_class) -> tuple[float, int, int] | None:
    """``(distance, i, j)`` of the closest atom i and image ``wrapped[j] + vector``, or None."""
    if not vector.any():
        pair = closest_pair(wrapped, radius)
        return None if pair is None else (pair.distance, pair.first, pair.second)
    found = home.sparse_distance_matrix(tree_class(wrapped + vector), radius, output_type="ndarray")
    if len(found) == 0:
        return None
    best = int(np.argmin(found["v"]))
    return float(found["v"][best]), int(found["i"][best]), int(found["j"][best])


def _close_pair_message(pair: ClosePair, numbers: np.ndarray, where: str, min_distance: float) -> str:
    first = f"atom {pair.first + 1} ({_symbol(numbers[pair.first])})"
    if pair.first == pair.second:
        return (f"{where}: {first} is {pair.distance:.4g} A from its own periodic image (lattice "
                f"translation {list(pair.translation)}), closer than {min_distance} A (atoms 1-based): "
                "the cell is too small; check the lattice vectors and their units")
    second = f"atom {pair.second + 1} ({_symbol(numbers[pair.second])})"
    if any(pair.translation):
        second = f"the periodic image of {second} (lattice translation {list(pair.translation)})"
    return (f"{where}: {first} and {second} are {pair.distance:.4g} A apart, closer than "
            f"{min_distance} A (atoms 1-based, in file order): fix the geometry (a duplicated atom "
            "line? coordinates in Bohr or nm instead of Angstrom? a broken frame?)")


def _symbol(number: int) -> str:
    from ase.data import chemical_symbols

    return chemical_symbols[int(number)] if 0 <= int(number) < len(chemical_symbols) else f"Z={number}"


def check_overlap(overlap: np.ndarray, where: str, threshold: float = SINGULAR_OVERLAP) -> None:
    """Refuse a singular or indefinite overlap matrix S of a molecule.

    Args:
        overlap: (n, n) symmetric S.
        where: What the structure is, for the message.
        threshold: Smallest accepted eigenvalue (exclusive); see :data:`SINGULAR_OVERLAP`.

    Raises:
        HamkitError: Non-finite entries, or a smallest eigenvalue ``<= threshold``; the
            message gives the eigenvalue and the likely cause.
    """
    if not np.isfinite(overlap).all():
        raise HamkitError(f"{where}: the overlap matrix S has non-finite entries: check the "
                          "coordinates and the basis")
    smallest = smallest_overlap_eigenvalue(overlap)
    if smallest <= threshold:
        kind = "indefinite (negative eigenvalue)" if smallest < 0 else "singular"
        raise HamkitError(
            f"{where}: the overlap matrix S is {kind}: its smallest eigenvalue is {smallest:.3g} "
            f"(at most {threshold:g}), so some basis functions are linear combinations of the others. "
            "Likely cause: atoms (nearly) on top of each other, or a basis too large/diffuse for this "
            "geometry; fix the geometry, or train and predict with a smaller basis"
        )


def smallest_overlap_eigenvalue(overlap: np.ndarray) -> float:
    """The smallest eigenvalue of a symmetric S (only that one is computed); NaN when S is not finite."""
    from scipy.linalg import eigh

    overlap = np.asarray(overlap, dtype=np.float64)
    if not np.isfinite(overlap).all():
        return float("nan")
    symmetric = 0.5 * (overlap + overlap.T)
    return float(eigh(symmetric, eigvals_only=True, subset_by_index=[0, 0], driver="evr")[0])
