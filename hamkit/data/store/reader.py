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
from hamkit.data.store import structure_reads as reads
from hamkit.data.store.hdf5_cache import READER_METADATA_CACHE_BYTES as READER_METADATA_CACHE_BYTES
from hamkit.data.store.hdf5_cache import limit_metadata_cache
from hamkit.data.store.header import StoreFormatError, StoreHeader
from hamkit.data.structure import HamiltonianRecord, Structure


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
            limit_metadata_cache(self._handle)
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
        names, attributes = reads.record_metadata(group, self.path, key, _ATTRIBUTES)
        atoms = reads.record_atoms(group, self.path, key, attributes, self.basis)
        extras = self._extras(group, key, names, attributes)
        n_orbitals = self.header.basis.total_orbitals(atoms[0])
        if layout.TRANSLATIONS in names:
            return self._periodic_record(group, key, names, attributes, atoms, extras, n_orbitals)
        reads.refuse_lone_cell(self.path, key, names)
        matrices = {name: self._matrix(dataset, key, name, (n_orbitals, n_orbitals),
                                       f"(the basis gives {n_orbitals} orbitals)")
                    for name, dataset in reads.matrix_members(group, self.path, key, names).items()}
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
        return reads.read_structure(self._group(key), self.path, key, self.header.basis)

    def key_at(self, position: int) -> str:
        """The key of record number ``position`` (negative counts from the end).

        Raises:
            IndexError: Out of range.
        """
        position = int(position)
        if not -len(self) <= position < len(self):
            raise IndexError(f"record {position} out of range for {self.path} ({len(self)} records)")
        return self._keys[position]

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
        structure, translations, members, shapes = reads.periodic_fields(group, self.path, key, names,
                                                                         attributes, atoms, n_orbitals)
        partners = checks.partner_indices(translations)
        home = reads.home_position(translations)
        assert home is not None, "periodic_fields rejects a record without R = (0, 0, 0)"
        matrices = {name: self._matrix(members[name], key, name, shape, "") for name, shape in shapes.items()}
        checks.check_operators(matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), partners=partners,
                               translations=translations, home=home, source=self.path, record=repr(key))
        return HamiltonianRecord(structure, matrices[layout.HAMILTONIAN], matrices.get(layout.OVERLAP), key,
                                 extras, translations=translations)

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
        values = reads.numeric(values, self.path, key, name)
        return values if values.dtype == np.float64 else values.astype(np.float64)

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
        return reads.read_numbers(self._group(key), self.path, key, self.basis)

    def periodicity(self, key: str) -> tuple[tuple[bool, bool, bool], int] | None:
        """``(pbc, n_translations)`` of a periodic record, None for a molecule (no matrices read)."""
        return reads.read_periodicity(self._group(key), self.path, key)

    def elements(self) -> list[int]:
        """Atomic numbers present in the complete records, sorted (reads every ``numbers``)."""
        present: set[int] = set()
        for key in self._keys:
            present.update(np.unique(self.numbers(key)).tolist())
        return sorted(present)


_ATTRIBUTES = ("charge", "energy", layout.EXTRAS)
"""The record attributes :meth:`StoreReader.get` reads (each read costs ~20 us)."""


def open_store(path: str | os.PathLike[str]) -> StoreReader:
    """Open a store for reading (same as ``StoreReader(path)``)."""
    return StoreReader(path)
