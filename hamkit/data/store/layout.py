"""Names inside a hamkit store file, and opening it with errors users can act on.

Layout (HDF5)::

    /                       attribute hamkit_header (JSON, see header.py)
    /structures/<key>       one group per structure, in insertion order
        numbers             int64 (n_atoms,)
        positions           float64 (n_atoms, 3), Angstrom
        hamiltonian         float64 (n_orbitals, n_orbitals), canonical order, Hartree;
                            periodic: (n_translations, n_orbitals, n_orbitals), H(R)
        overlap             float64, same shape as hamiltonian, optional
        cell                float64 (3, 3), lattice vectors as rows, Angstrom  [periodic, v2]
        translations        int64 (n_translations, 3), R of each matrix        [periodic, v2]
        extras/<name>       optional array-valued extras (e.g. forces)
        attributes: charge (int), energy (float, optional), extras (JSON of scalar extras,
                    e.g. fermi_level (Hartree) and n_electrons of periodic records),
                    pbc (3 bools, periodic only), source_id (str, optional),
                    complete (True; written LAST)

A record is periodic exactly when it has ``translations``; it then also has ``cell`` and
``pbc``, every translation R has its partner -R, and H(-R) = H(R)^T (see
:mod:`hamkit.data.structure`).

A group without ``complete`` is a record whose write was interrupted: readers ignore it
and writers replace it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hamkit.data.store.header import HEADER_ATTRIBUTE, StoreFormatError, StoreHeader
from hamkit.errors import HamkitError

STRUCTURES = "structures"
COMPLETE = "complete"
NUMBERS = "numbers"
POSITIONS = "positions"
HAMILTONIAN = "hamiltonian"
OVERLAP = "overlap"
EXTRAS = "extras"
CELL = "cell"
TRANSLATIONS = "translations"
PBC = "pbc"
REQUIRED_DATASETS = (NUMBERS, POSITIONS, HAMILTONIAN)


def check_key(key: str) -> str:
    """Validate a structure key (an HDF5 group name).

    Raises:
        HamkitError: Empty, contains ``/``, or is ``.``/``..``.
    """
    if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
        raise HamkitError(f"invalid structure key {key!r}: use a non-empty name without '/'")
    return key


def open_hdf5(path: str | Path, mode: str) -> h5py.File:
    """Open an HDF5 file, turning the usual failures into :class:`HamkitError`.

    Args:
        path: The file.
        mode: h5py mode (``"r"``, ``"r+"``, ``"w-"``).

    Raises:
        HamkitError: Missing file, not HDF5, locked by another process.
    """
    path = Path(path)
    if mode in ("r", "r+"):
        if not path.exists():
            raise HamkitError(f"{path}: no such file")
        if path.is_dir():
            raise HamkitError(f"{path}: is a directory, expected a hamkit store (.h5)")
        if not h5py.is_hdf5(path):
            raise StoreFormatError(f"{path}: not an HDF5 file (a hamkit store is HDF5)")
    try:
        return h5py.File(path, mode)
    except OSError as error:
        text = str(error)
        if "lock" in text.lower():
            raise HamkitError(
                f"{path}: cannot open, another process has it open for writing ({text})"
            ) from None
        raise HamkitError(f"{path}: cannot open as HDF5: {text}") from None


def read_header(handle: h5py.File, source: str) -> StoreHeader:
    """Parse the root header attribute.

    Raises:
        StoreFormatError: No header attribute, or an invalid one.
    """
    if HEADER_ATTRIBUTE not in handle.attrs:
        raise StoreFormatError(
            f"{source}: HDF5 file but not a hamkit store (no '{HEADER_ATTRIBUTE}' attribute)"
        )
    return StoreHeader.from_json(handle.attrs[HEADER_ATTRIBUTE], source)


def complete_keys(handle: h5py.File) -> tuple[list[str], list[str]]:
    """Keys of the complete and the incomplete structure groups, in insertion order."""
    group = handle.get(STRUCTURES)
    if group is None:
        return [], []
    done: list[str] = []
    partial: list[str] = []
    for key, item in group.items():
        is_complete = isinstance(item, h5py.Group) and bool(item.attrs.get(COMPLETE, False))
        (done if is_complete else partial).append(key)
    return done, partial


def periodic_problem(cell: np.ndarray | None, pbc: Any, translations: np.ndarray,
                     matrix_shapes: dict[str, tuple[int, ...]], n_orbitals: int) -> str | None:
    """What is wrong with the periodic fields of a record, or None when they are valid.

    Args:
        cell: Lattice vectors as rows, expected (3, 3) and non-singular.
        pbc: Periodic axes, expected 3 booleans with at least one True.
        translations: Expected (n_R, 3) integers, unique, closed under R -> -R.
        matrix_shapes: Shape of each stored matrix stack by name, expected (n_R, n, n).
        n_orbitals: Orbitals the basis gives the structure.

    Returns:
        A sentence for an error message, or None.
    """
    if cell is None:
        return "has translations but no cell"
    if np.shape(cell) != (3, 3) or abs(float(np.linalg.det(np.asarray(cell, dtype=np.float64)))) < 1e-8:
        return f"has a cell of shape {np.shape(cell)} that is not three independent lattice vectors"
    flags = np.asarray(pbc).reshape(-1) if pbc is not None else np.zeros(0)
    if flags.size != 3 or not flags.any():
        return f"has pbc {None if pbc is None else flags.tolist()}, expected 3 booleans, at least one True"
    translations = np.asarray(translations)
    if translations.ndim != 2 or translations.shape[1] != 3 or not np.issubdtype(translations.dtype, np.integer):
        return f"has translations of shape {translations.shape} ({translations.dtype}), expected (n, 3) integers"
    rows = {tuple(int(v) for v in row) for row in translations}
    if len(rows) != len(translations):
        return "has a lattice translation listed twice"
    unpaired = sorted(row for row in rows if tuple(-v for v in row) not in rows)
    if unpaired:
        return f"has translation {unpaired[0]} without its partner {tuple(-v for v in unpaired[0])}"
    expected = (len(translations), n_orbitals, n_orbitals)
    for name, shape in matrix_shapes.items():
        if tuple(shape) != expected:
            return (f"has {name} of shape {tuple(shape)}, expected {expected} "
                    "(one matrix per lattice translation, orbitals from the basis)")
    return None
