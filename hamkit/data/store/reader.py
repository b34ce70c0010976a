"""Random-access reading of a hamkit store, one structure at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import h5py
import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import layout
from hamkit.data.store import record_checks as checks
from hamkit.data.store.header import StoreFormatError, StoreHeader
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.validation import record_error


class StoreReader(Sequence):
    """Read-only view of a store; loads one record per access.

    Complete records are visible, interrupted writes are not (see
    :mod:`hamkit.data.store.layout`); records whose metadata is damaged are listed and raise a
    clear error when read. Every record read is checked (finite, symmetric, sane H and S,
    valid elements and positions; :mod:`hamkit.data.store.record_checks`). The HDF5 file
    is opened lazily and re-opened in a child process, so a reader can be handed to
    data-loader workers (it pickles without its file handle).

    Args:
        path: The ``.h5`` file.

    Raises:
        HamkitError: Missing file, not HDF5, not a hamkit store, invalid header, a truncated
            or damaged file (:class:`StoreFormatError`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._handle: h5py.File | None = None
        self._pid = -1
        handle = self._file()
        try:
            self.header: StoreHeader = layout.read_header(handle, str(self.path))
            index = layout.scan_records(handle, str(self.path))
        except BaseException:
            self.close()
            raise
        self._keys = index.listed
        self.incomplete_keys: list[str] = index.incomplete
        """Keys of interrupted writes (no ``complete`` mark): hidden, a writer replaces them."""
        self.damaged_keys: dict[str, str] = index.damaged
        """``{key: problem}`` of listed records whose metadata is damaged; reading one raises."""
        self._index = {key: position for position, key in enumerate(self._keys)}

    # ------------------------------------------------------------------ file handling
    def _file(self) -> h5py.File:
        if self._handle is None or self._pid != os.getpid():
            self._handle = layout.open_hdf5(self.path, "r")
            self._pid = os.getpid()
            _limit_metadata_cache(self._handle)
        return self._handle

    def close(self) -> None:
        """Close the file (it re-opens on the next access)."""
        if self._handle is not None and self._pid == os.getpid():
            self._handle.close()
        self._handle = None

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_handle"], state["_pid"] = None, -1
        return state

    # ------------------------------------------------------------------ sequence
    @property
    def keys(self) -> list[str]:
        """Keys of the complete records, in storage order."""
        return list(self._keys)

    @property
    def basis(self) -> OrbitalBasis:
        """The store's orbital basis (``header.basis``)."""
        return self.header.basis

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> HamiltonianRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[HamiltonianRecord]: ...

    def __getitem__(self, index: int | slice) -> HamiltonianRecord | list[HamiltonianRecord]:
        """Record number ``index`` (negative counts from the end) or a list for a slice."""
        if isinstance(index, slice):
            return [self.get(self._keys[i]) for i in range(*index.indices(len(self)))]
        return self.get(self.key_at(index))

    def __iter__(self) -> Iterator[HamiltonianRecord]:
        for key in self._keys:
            yield self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get(self, key: str) -> HamiltonianRecord:
        """The record stored under ``key``, checked (see :mod:`hamkit.data.store.record_checks`).

        Raises:
            KeyError: No complete record has this key.
            StoreFormatError: The record lacks a required field, its metadata is damaged, or
                HDF5 cannot read it (damaged or truncated file); the message names file and key.
            RecordError: A value is wrong (NaN/inf, asymmetric or absurd H or S, unknown
                element, wrong position shape, non-integer charge, invalid extras).
        """
        group = self._group(key)
        names, attributes = self._metadata(group, key, _ATTRIBUTES)
        atoms = self._atoms(group, key, attributes)
        extras = self._extras(group, key, names, attributes)
        n_orbitals = self.header.basis.total_orbitals(atoms[0])
        if layout.TRANSLATIONS in names:
            return self._periodic_record(group, key, names, attributes, atoms, extras, n_orbitals)
        self._refuse_lone_cell(key, names)
        matrices = {name: self._matrix(dataset, key, name, (n_orbitals, n_orbitals),
                                       f"(the basis gives {n_orbitals} orbitals)")
                    for name, dataset in self._members(group, key, names).items()}
        checks.check_operators(matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), source=self.path,
                               record=repr(key))
        structure = Structure(*atoms)
        return HamiltonianRecord(structure, matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), key,
                                 extras)

    def structure(self, key_or_index: str | int) -> Structure:
        """The atoms of one record without reading its matrices, checked like :meth:`get`.

        Reads the numbers, positions and charge (a crystal: cell, pbc, translations and the
        matrices' shapes) - about a third of the cost of a small record's :meth:`get`, and
        independent of the basis size.

        Args:
            key_or_index: The record's key, or its position (negative counts from the end).

        Returns:
            The structure: numbers (n_atoms,), positions (n_atoms, 3) Angstrom, charge; a
            crystal also its cell (3, 3) and pbc.

        Raises:
            KeyError: No complete record has this key.
            IndexError: Position out of range.
            StoreFormatError: A required field is missing, damaged metadata or cell, or HDF5
                cannot read the record.
            RecordError: Invalid elements, positions, charge or cell values.
        """
        key = key_or_index if isinstance(key_or_index, str) else self.key_at(key_or_index)
        group = self._group(key)
        names, attributes = self._metadata(group, key, ("charge",))
        atoms = self._atoms(group, key, attributes)
        if layout.TRANSLATIONS in names:
            n_orbitals = self.header.basis.total_orbitals(atoms[0])
            return self._periodic_fields(group, key, names, attributes, atoms, n_orbitals)[0]
        self._refuse_lone_cell(key, names)
        return Structure(*atoms)

    def key_at(self, position: int) -> str:
        """The key of record number ``position`` (negative counts from the end).

        Raises:
            IndexError: Out of range.
        """
        position = int(position)
        if not -len(self) <= position < len(self):
            raise IndexError(f"record {position} out of range for {self.path} ({len(self)} records)")
        return self._keys[position]

    def _metadata(self, group: h5py.Group, key: str,
                  wanted: Sequence[str]) -> tuple[set[str], dict[str, Any]]:
        """A record's member names and the ``wanted`` attributes (plus ``pbc`` of a crystal).

        Raises:
            StoreFormatError: A required member is missing, or HDF5 cannot read the metadata.
        """
        with layout.reading(self.path, key):
            names = set(group.keys())
            attributes = {name: group.attrs.get(name) for name in wanted}
            if layout.TRANSLATIONS in names:
                attributes[layout.PBC] = group.attrs.get(layout.PBC)
        missing = [name for name in layout.REQUIRED_DATASETS if name not in names]
        if missing:
            raise StoreFormatError(f"{self.path}: record {key!r} lacks {', '.join(missing)} although it is "
                                   f"marked complete; {checks.DAMAGED_FIX}")
        return names, attributes

    def _atoms(self, group: h5py.Group, key: str,
               attributes: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
        """Checked numbers (n_atoms,), positions (n_atoms, 3) and charge of a record.

        Raises:
            RecordError: Invalid elements, positions or charge.
        """
        label = repr(key)
        numbers = checks.check_atomic_numbers(self._values(group, key, layout.NUMBERS), self.basis,
                                              self.path, label)
        positions = checks.check_atom_positions(self._values(group, key, layout.POSITIONS), len(numbers),
                                                self.path, label)
        stored_charge = attributes["charge"]
        charge = checks.check_charge(0 if stored_charge is None else stored_charge, self.path, label)
        return numbers, positions, charge

    def _refuse_lone_cell(self, key: str, names: set[str]) -> None:
        """A molecular record (no translations) must not have a cell.

        Raises:
            StoreFormatError: It has one.
        """
        if layout.CELL in names:
            raise StoreFormatError(f"{self.path}: record {key!r} has a cell but no translations; "
                                   f"{checks.DAMAGED_FIX}")

    def _periodic_record(self, group: h5py.Group, key: str, names: set[str], attributes: dict[str, Any],
                         atoms: tuple[np.ndarray, np.ndarray, int], extras: dict[str, Any],
                         n_orbitals: int) -> HamiltonianRecord:
        """Read and check the periodic fields and matrices H(R), S(R) of a record (format version 2).

        Args:
            group: The record's group.
            key: Its key.
            names: Names of its members.
            attributes: Its attributes.
            atoms: Numbers (n_atoms,), positions (n_atoms, 3) and charge, already checked.
            extras: Its extras, already read.
            n_orbitals: Orbitals the basis gives the structure.

        Raises:
            StoreFormatError: Missing or inconsistent cell, pbc, translations or shapes.
            RecordError: Non-finite cell, no R = 0, or H(R), S(R) failing the checks.
        """
        structure, translations, members, shapes = self._periodic_fields(group, key, names, attributes, atoms,
                                                                         n_orbitals)
        partners = checks.partner_indices(translations)
        home = _home_position(translations)
        matrices = {name: self._matrix(members[name], key, name, shape, "") for name, shape in shapes.items()}
        checks.check_operators(matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), partners=partners,
                               translations=translations, home=home, source=self.path, record=repr(key))
        return HamiltonianRecord(structure, matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), key,
                                 extras, translations=translations)

    def _periodic_fields(self, group: h5py.Group, key: str, names: set[str], attributes: dict[str, Any],
                         atoms: tuple[np.ndarray, np.ndarray, int], n_orbitals: int
                         ) -> tuple[Structure, np.ndarray, dict[str, Any], dict[str, tuple[int, ...] | None]]:
        """The checked structure of a crystal, its translations and its matrix members (unread).

        Args:
            group: The record's group.
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
        cell = self._values(group, key, layout.CELL) if layout.CELL in names else None
        translations = self._values(group, key, layout.TRANSLATIONS)
        pbc = attributes.get(layout.PBC)
        checks.check_cell_values(cell, self.path, label)
        members = self._members(group, key, names)
        with layout.reading(self.path, key):
            shapes = {name: getattr(dataset, "shape", None) for name, dataset in members.items()}
        problem = layout.periodic_problem(cell, pbc, translations, shapes, n_orbitals)
        if problem is not None:
            raise StoreFormatError(f"{self.path}: periodic record {key!r} {problem}; {checks.DAMAGED_FIX}")
        translations = np.asarray(translations, dtype=np.int64)
        if _home_position(translations) is None:
            raise record_error(self.path, label, "has no R = (0, 0, 0) lattice translation",
                               checks.DAMAGED_FIX)
        numbers, positions, charge = atoms
        structure = Structure(numbers=numbers, positions=positions, charge=charge,
                              cell=np.asarray(cell, dtype=np.float64),
                              pbc=tuple(bool(flag) for flag in np.ravel(pbc)))
        return structure, translations, members, shapes

    # ------------------------------------------------------------------ raw access
    def _group(self, key: str) -> h5py.Group:
        """The group of a listed record.

        Raises:
            KeyError: Not a listed record.
            StoreFormatError: Its metadata is damaged, or HDF5 cannot open it.
        """
        if key not in self._index:
            raise KeyError(f"{self.path}: no complete record {key!r}")
        if key in self.damaged_keys:
            raise StoreFormatError(
                f"{self.path}: record {key!r}: {self.damaged_keys[key]}, the record's metadata is damaged; "
                "regenerate or re-download the store")
        with layout.reading(self.path, key):
            return self._file()[layout.STRUCTURES][key]

    def _values(self, group: h5py.Group, key: str, name: str) -> np.ndarray:
        """A small numeric dataset of a record, read whole.

        Raises:
            StoreFormatError: Not a numeric dataset, or HDF5 cannot read it.
        """
        with layout.reading(self.path, key):
            values = np.asarray(group[name][()])
        return _numeric(values, self.path, key, name)

    def _matrix(self, dataset: Any, key: str, name: str, shape: tuple[int, ...], why: str) -> np.ndarray:
        """H or S of a record as float64, after checking its stored shape (nothing else is read).

        Args:
            dataset: The record's ``hamiltonian`` or ``overlap`` member.
            key: The record's key.
            name: ``"hamiltonian"`` or ``"overlap"``.
            shape: The expected shape, (n, n) or (n_R, n, n).
            why: Where the expected shape comes from, for the message.

        Raises:
            StoreFormatError: Another shape, not numeric, or HDF5 cannot read it.
        """
        with layout.reading(self.path, key):
            stored = getattr(dataset, "shape", None)
            if stored != shape:
                raise StoreFormatError(f"{self.path}: record {key!r} has {name} of shape {stored}, "
                                       f"expected {shape}{' ' + why if why else ''}; {checks.DAMAGED_FIX}")
            values = np.asarray(dataset[()])
        values = _numeric(values, self.path, key, name)
        return values if values.dtype == np.float64 else values.astype(np.float64)

    def _members(self, group: h5py.Group, key: str, names: set[str]) -> dict[str, Any]:
        """The ``hamiltonian`` and (when stored) ``overlap`` members of a record, opened once."""
        with layout.reading(self.path, key):
            return {name: group[name] for name in (layout.HAMILTONIAN, layout.OVERLAP) if name in names}

    def _extras(self, group: h5py.Group, key: str, names: set[str],
                attributes: dict[str, Any]) -> dict[str, Any]:
        """Scalar extras (JSON attribute), the energy, and array extras (``extras/<name>``).

        Raises:
            RecordError: Invalid JSON or energy.
            StoreFormatError: HDF5 cannot read an array extra.
        """
        label = repr(key)
        extras = checks.parse_extras(attributes.get(layout.EXTRAS), self.path, label)
        if attributes.get("energy") is not None:
            extras["energy"] = checks.check_energy(attributes["energy"], self.path, label)
        if layout.EXTRAS in names:
            with layout.reading(self.path, key, f"'{layout.EXTRAS}'"):
                extras.update({name: data[()] for name, data in group[layout.EXTRAS].items()})
        return extras

    def source_id(self, key: str) -> str | None:
        """The input fingerprint the writer recorded for ``key`` (None if absent)."""
        group = self._group(key)
        with layout.reading(self.path, key):
            value = group.attrs.get("source_id")
        return None if value is None else str(value)

    def numbers(self, key: str) -> np.ndarray:
        """Atomic numbers of one record without reading its matrices, shape (n_atoms,), checked.

        Raises:
            KeyError: No complete record has this key.
            StoreFormatError: Damaged record, or HDF5 cannot read it.
            RecordError: Not valid elements of the store's basis.
        """
        group = self._group(key)
        with layout.reading(self.path, key):
            present = layout.NUMBERS in group
        if not present:
            raise StoreFormatError(f"{self.path}: record {key!r} lacks {layout.NUMBERS}; "
                                   f"{checks.DAMAGED_FIX}")
        values = self._values(group, key, layout.NUMBERS)
        return checks.check_atomic_numbers(values, self.basis, self.path, repr(key))

    def periodicity(self, key: str) -> tuple[tuple[bool, bool, bool], int] | None:
        """``(pbc, n_translations)`` of a periodic record, None for a molecule (no matrices read)."""
        group = self._group(key)
        with layout.reading(self.path, key):
            if layout.TRANSLATIONS not in group:
                return None
            pbc = group.attrs.get(layout.PBC)
            count = group[layout.TRANSLATIONS].shape
        flags = (False, False, False)
        if pbc is not None and np.size(pbc) == 3:
            flags = tuple(bool(flag) for flag in np.ravel(pbc))
        return flags, (int(count[0]) if count else 0)

    def elements(self) -> list[int]:
        """Atomic numbers present in the complete records, sorted (reads every ``numbers``)."""
        present: set[int] = set()
        for key in self._keys:
            present.update(np.unique(self.numbers(key)).tolist())
        return sorted(present)


_ATTRIBUTES = ("charge", "energy", layout.EXTRAS)
"""The record attributes :meth:`StoreReader.get` reads (each read costs ~20 us)."""


READER_METADATA_CACHE_BYTES = 2 * 2**20
"""Ceiling of a reader's HDF5 metadata cache (HDF5's default grows to 32 MB).

HDF5 sizes the cache by the on-disk size of its entries, but a decoded record header takes
~20x that in memory: with the default, listing a 100k-record store left ~480 MB resident
(and every DataLoader worker copied it), with 2 MB ~60 MB. Records are read once per pass
in random order, so a small cache costs no measurable time (~0.4 ms per structure read,
~1 ms per small record, either way)."""


def _limit_metadata_cache(handle: h5py.File) -> None:
    """Cap the HDF5 metadata cache of an open file at :data:`READER_METADATA_CACHE_BYTES`."""
    config = handle.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = config.max_size = READER_METADATA_CACHE_BYTES
    config.min_size = min(config.min_size, READER_METADATA_CACHE_BYTES)
    handle.id.set_mdc_config(config)


def _home_position(translations: np.ndarray) -> int | None:
    """Position of R = (0, 0, 0) in ``translations`` (n_R, 3), or None."""
    hits = np.flatnonzero(~translations.any(axis=1))
    return int(hits[0]) if hits.size else None


def _numeric(values: np.ndarray, source: Path, key: str, name: str) -> np.ndarray:
    """``values`` when they are numbers (int, uint or float), else an error.

    Raises:
        StoreFormatError: Strings, compounds, booleans, objects, ...
    """
    if values.dtype.kind not in "iuf":
        raise StoreFormatError(f"{source}: record {key!r} has {name} of type {values.dtype}, expected "
                               f"numbers; {checks.DAMAGED_FIX}")
    return values


def open_store(path: str | os.PathLike[str]) -> StoreReader:
    """Open a store for reading (same as ``StoreReader(path)``)."""
    return StoreReader(path)
