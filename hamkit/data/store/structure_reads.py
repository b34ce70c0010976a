"""Reading the structure of one store record (atoms, positions, cell) without its matrices.

The functions here take an already opened record group (see
:meth:`hamkit.data.store.reader.StoreReader.structure`), read only the small fields and
check them with :mod:`hamkit.data.store.record_checks`. Errors name the file (``source``)
and the record (``key``). The full record read (:meth:`~hamkit.data.store.reader.StoreReader.get`)
builds on the same helpers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import layout
from hamkit.data.store import record_checks as checks
from hamkit.data.store.header import StoreFormatError
from hamkit.data.structure import Structure
from hamkit.data.validation import record_error

Atoms = tuple[np.ndarray, np.ndarray, int]
"""Checked numbers (n_atoms,), positions (n_atoms, 3) Angstrom and charge of a record."""


def read_structure(group: h5py.Group, source: Path, key: str, basis: OrbitalBasis) -> Structure:
    """The checked structure of a record, its matrices left unread (only their shapes for a crystal).

    Args:
        group: The record's group.
        source: The store file, for messages.
        key: The record's key.
        basis: The store's basis (valid elements, orbitals per structure).

    Returns:
        Numbers (n_atoms,), positions (n_atoms, 3) Angstrom, charge; a crystal also its
        cell (3, 3) and pbc.

    Raises:
        StoreFormatError: A required field is missing, damaged metadata or cell, or HDF5
            cannot read the record.
        RecordError: Invalid elements, positions, charge or cell values.
    """
    names, attributes = record_metadata(group, source, key, ("charge",))
    atoms = record_atoms(group, source, key, attributes, basis)
    if layout.TRANSLATIONS in names:
        n_orbitals = basis.total_orbitals(atoms[0])
        return periodic_fields(group, source, key, names, attributes, atoms, n_orbitals)[0]
    refuse_lone_cell(source, key, names)
    return Structure(*atoms)


def read_numbers(group: h5py.Group, source: Path, key: str, basis: OrbitalBasis) -> np.ndarray:
    """Checked atomic numbers (n_atoms,) of a record, nothing else read.

    Raises:
        StoreFormatError: No ``numbers``, or HDF5 cannot read them.
        RecordError: Not valid elements of ``basis``.
    """
    with layout.reading(source, key):
        present = layout.NUMBERS in group
    if not present:
        raise StoreFormatError(f"{source}: record {key!r} lacks {layout.NUMBERS}; {checks.DAMAGED_FIX}")
    values = record_values(group, source, key, layout.NUMBERS)
    return checks.check_atomic_numbers(values, basis, source, repr(key))


def read_periodicity(group: h5py.Group, source: Path, key: str) -> tuple[tuple[bool, bool, bool], int] | None:
    """``(pbc, n_translations)`` of a periodic record, None for a molecule (no matrices read).

    A missing or malformed ``pbc`` reads as ``(False, False, False)``.
    """
    with layout.reading(source, key):
        if layout.TRANSLATIONS not in group:
            return None
        pbc = group.attrs.get(layout.PBC)
        count = group[layout.TRANSLATIONS].shape
    flags = (False, False, False)
    if pbc is not None and np.size(pbc) == 3:
        flags = three_flags(pbc)
    return flags, (int(count[0]) if count else 0)


def record_metadata(group: h5py.Group, source: Path, key: str,
                    wanted: Sequence[str]) -> tuple[set[str], dict[str, Any]]:
    """A record's member names and the ``wanted`` attributes (plus ``pbc`` of a crystal).

    Raises:
        StoreFormatError: A required member is missing, or HDF5 cannot read the metadata.
    """
    with layout.reading(source, key):
        names = set(group.keys())
        attributes = {name: group.attrs.get(name) for name in wanted}
        if layout.TRANSLATIONS in names:
            attributes[layout.PBC] = group.attrs.get(layout.PBC)
    missing = [name for name in layout.REQUIRED_DATASETS if name not in names]
    if missing:
        raise StoreFormatError(f"{source}: record {key!r} lacks {', '.join(missing)} although it is "
                               f"marked complete; {checks.DAMAGED_FIX}")
    return names, attributes


def record_atoms(group: h5py.Group, source: Path, key: str, attributes: dict[str, Any],
                 basis: OrbitalBasis) -> Atoms:
    """Checked numbers (n_atoms,), positions (n_atoms, 3) and charge of a record.

    Raises:
        RecordError: Invalid elements, positions or charge.
    """
    label = repr(key)
    numbers = checks.check_atomic_numbers(record_values(group, source, key, layout.NUMBERS), basis, source, label)
    positions = checks.check_atom_positions(record_values(group, source, key, layout.POSITIONS), len(numbers),
                                            source, label)
    stored_charge = attributes["charge"]
    charge = checks.check_charge(0 if stored_charge is None else stored_charge, source, label)
    return numbers, positions, charge


def refuse_lone_cell(source: Path, key: str, names: set[str]) -> None:
    """A molecular record (no translations) must not have a cell.

    Raises:
        StoreFormatError: It has one.
    """
    if layout.CELL in names:
        raise StoreFormatError(f"{source}: record {key!r} has a cell but no translations; {checks.DAMAGED_FIX}")


def periodic_fields(group: h5py.Group, source: Path, key: str, names: set[str], attributes: dict[str, Any],
                    atoms: Atoms, n_orbitals: int
                    ) -> tuple[Structure, np.ndarray, dict[str, Any], dict[str, tuple[int, ...]]]:
    """The checked structure of a crystal, its translations and its matrix members (unread).

    Args:
        group: The record's group.
        source: The store file, for messages.
        key: Its key.
        names: Names of its members.
        attributes: Its attributes (``pbc`` among them).
        atoms: Numbers (n_atoms,), positions (n_atoms, 3) and charge, already checked.
        n_orbitals: Orbitals the basis gives the structure.

    Returns:
        ``(structure, translations (n_R, 3) int64, members, shapes)``: the ``hamiltonian``
        and ``overlap`` members and their stored shapes (n_R, n, n).

    Raises:
        StoreFormatError: Missing or inconsistent cell, pbc, translations or shapes.
        RecordError: Non-finite cell, or no R = 0.
    """
    label = repr(key)
    cell = record_values(group, source, key, layout.CELL) if layout.CELL in names else None
    translations = record_values(group, source, key, layout.TRANSLATIONS)
    pbc = attributes.get(layout.PBC)
    checks.check_cell_values(cell, source, label)
    members = matrix_members(group, source, key, names)
    with layout.reading(source, key):
        shapes = {name: getattr(dataset, "shape", None) for name, dataset in members.items()}
    problem = layout.periodic_problem(cell, pbc, translations, shapes, n_orbitals)
    if problem is not None:
        raise StoreFormatError(f"{source}: periodic record {key!r} {problem}; {checks.DAMAGED_FIX}")
    # periodic_problem rejects a member without a shape, so this drops nothing
    array_shapes = {name: shape for name, shape in shapes.items() if shape is not None}
    translations = np.asarray(translations, dtype=np.int64)
    if home_position(translations) is None:
        raise record_error(source, label, "has no R = (0, 0, 0) lattice translation", checks.DAMAGED_FIX)
    numbers, positions, charge = atoms
    structure = Structure(numbers=numbers, positions=positions, charge=charge,
                          cell=np.asarray(cell, dtype=np.float64),
                          pbc=three_flags(pbc))
    return structure, translations, members, array_shapes


def matrix_members(group: h5py.Group, source: Path, key: str, names: set[str]) -> dict[str, Any]:
    """The ``hamiltonian`` and (when stored) ``overlap`` members of a record, opened once, not read."""
    with layout.reading(source, key):
        return {name: group[name] for name in (layout.HAMILTONIAN, layout.OVERLAP) if name in names}


def record_values(group: h5py.Group, source: Path, key: str, name: str) -> np.ndarray:
    """A small numeric dataset of a record, read whole.

    Raises:
        StoreFormatError: Not a numeric dataset, or HDF5 cannot read it.
    """
    with layout.reading(source, key):
        values = np.asarray(group[name][()])
    return numeric(values, source, key, name)


def numeric(values: np.ndarray, source: Path, key: str, name: str) -> np.ndarray:
    """``values`` when they are numbers (int, uint or float), else an error.

    Raises:
        StoreFormatError: Strings, compounds, booleans, objects, ...
    """
    if values.dtype.kind not in "iuf":
        raise StoreFormatError(f"{source}: record {key!r} has {name} of type {values.dtype}, expected "
                               f"numbers; {checks.DAMAGED_FIX}")
    return values


def three_flags(pbc: Any) -> tuple[bool, bool, bool]:
    """A stored ``pbc`` attribute of exactly 3 entries (checked by the caller) as 3 bools."""
    first, second, third = (bool(flag) for flag in np.ravel(np.asarray(pbc)))
    return first, second, third


def home_position(translations: np.ndarray) -> int | None:
    """Position of R = (0, 0, 0) in ``translations`` (n_R, 3), or None."""
    hits = np.flatnonzero(~translations.any(axis=1))
    return int(hits[0]) if hits.size else None
