"""Random-access reading of a hamkit store, one structure at a time."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import h5py
import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import layout
from hamkit.data.store.header import StoreFormatError, StoreHeader
from hamkit.data.structure import HamiltonianRecord, Structure


class StoreReader(Sequence):
    """Read-only view of a store; loads one record per access.

    Only complete records are visible (see :mod:`hamkit.data.store.layout`). The HDF5 file
    is opened lazily and re-opened in a child process, so a reader can be handed to
    data-loader workers (it pickles without its file handle).

    Args:
        path: The ``.h5`` file.

    Raises:
        HamkitError: Missing file, not HDF5, not a hamkit store, invalid header.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._handle: h5py.File | None = None
        self._pid = -1
        handle = self._file()
        self.header: StoreHeader = layout.read_header(handle, str(self.path))
        self._keys, self.incomplete_keys = layout.complete_keys(handle)
        self._index = {key: position for position, key in enumerate(self._keys)}

    # ------------------------------------------------------------------ file handling
    def _file(self) -> h5py.File:
        if self._handle is None or self._pid != os.getpid():
            self._handle = layout.open_hdf5(self.path, "r")
            self._pid = os.getpid()
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
        position = int(index)
        if not -len(self) <= position < len(self):
            raise IndexError(f"record {index} out of range for {self.path} ({len(self)} records)")
        return self.get(self._keys[position])

    def __iter__(self) -> Iterator[HamiltonianRecord]:
        for key in self._keys:
            yield self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def get(self, key: str) -> HamiltonianRecord:
        """The record stored under ``key``.

        Raises:
            KeyError: No complete record has this key.
            StoreFormatError: The record lacks a required field (message names file and key).
        """
        if key not in self._index:
            raise KeyError(f"{self.path}: no complete record {key!r}")
        group = self._file()[layout.STRUCTURES][key]
        missing = [name for name in layout.REQUIRED_DATASETS if name not in group]
        if missing:
            raise StoreFormatError(f"{self.path}: record {key!r} lacks {', '.join(missing)}")
        numbers = group[layout.NUMBERS][()]
        hamiltonian = np.asarray(group[layout.HAMILTONIAN][()], dtype=np.float64)
        overlap = group[layout.OVERLAP][()] if layout.OVERLAP in group else None
        n_orbitals = self.header.basis.total_orbitals(numbers)
        if layout.TRANSLATIONS in group:
            return self._periodic_record(key, group, numbers, hamiltonian, overlap, n_orbitals)
        if layout.CELL in group:
            raise StoreFormatError(f"{self.path}: record {key!r} has a cell but no translations")
        structure = Structure(
            numbers=numbers,
            positions=group[layout.POSITIONS][()],
            charge=int(group.attrs.get("charge", 0)),
        )
        for name, matrix in ((layout.HAMILTONIAN, hamiltonian), (layout.OVERLAP, overlap)):
            if matrix is not None and matrix.shape != (n_orbitals, n_orbitals):
                raise StoreFormatError(
                    f"{self.path}: record {key!r} has {name} of shape {matrix.shape}, but the "
                    f"basis gives {n_orbitals} orbitals"
                )
        return HamiltonianRecord(structure, hamiltonian, overlap, key, self._extras(group))

    def _periodic_record(self, key: str, group: h5py.Group, numbers: np.ndarray,
                         hamiltonian: np.ndarray, overlap: np.ndarray | None,
                         n_orbitals: int) -> HamiltonianRecord:
        """Read and check the periodic fields of a record (format version 2).

        Raises:
            StoreFormatError: Missing or inconsistent cell, pbc, translations or shapes.
        """
        cell = group[layout.CELL][()] if layout.CELL in group else None
        pbc = group.attrs.get(layout.PBC)
        translations = group[layout.TRANSLATIONS][()]
        shapes = {layout.HAMILTONIAN: hamiltonian.shape}
        if overlap is not None:
            shapes[layout.OVERLAP] = overlap.shape
        problem = layout.periodic_problem(cell, pbc, translations, shapes, n_orbitals)
        if problem is not None:
            raise StoreFormatError(f"{self.path}: periodic record {key!r} {problem}")
        structure = Structure(
            numbers=numbers,
            positions=group[layout.POSITIONS][()],
            charge=int(group.attrs.get("charge", 0)),
            cell=np.asarray(cell, dtype=np.float64),
            pbc=tuple(bool(flag) for flag in pbc),
        )
        return HamiltonianRecord(structure, hamiltonian, overlap, key, self._extras(group),
                                 translations=np.asarray(translations, dtype=np.int64))

    @staticmethod
    def _extras(group: h5py.Group) -> dict[str, Any]:
        extras: dict[str, Any] = json.loads(group.attrs.get(layout.EXTRAS, "{}"))
        if "energy" in group.attrs:
            extras["energy"] = float(group.attrs["energy"])
        if layout.EXTRAS in group:
            extras.update({name: data[()] for name, data in group[layout.EXTRAS].items()})
        return extras

    def source_id(self, key: str) -> str | None:
        """The input fingerprint the writer recorded for ``key`` (None if absent)."""
        value = self._file()[layout.STRUCTURES][key].attrs.get("source_id")
        return None if value is None else str(value)

    def numbers(self, key: str) -> np.ndarray:
        """Atomic numbers of one record without reading its matrices, shape (n_atoms,)."""
        if key not in self._index:
            raise KeyError(f"{self.path}: no complete record {key!r}")
        return np.asarray(self._file()[layout.STRUCTURES][key][layout.NUMBERS][()], dtype=np.int64)

    def periodicity(self, key: str) -> tuple[tuple[bool, bool, bool], int] | None:
        """``(pbc, n_translations)`` of a periodic record, None for a molecule (no matrices read)."""
        if key not in self._index:
            raise KeyError(f"{self.path}: no complete record {key!r}")
        group = self._file()[layout.STRUCTURES][key]
        if layout.TRANSLATIONS not in group:
            return None
        pbc = group.attrs.get(layout.PBC)
        flags = (False, False, False) if pbc is None or np.size(pbc) != 3 else tuple(bool(f) for f in pbc)
        return flags, int(group[layout.TRANSLATIONS].shape[0])

    def elements(self) -> list[int]:
        """Atomic numbers present in the complete records, sorted (reads every ``numbers``)."""
        present: set[int] = set()
        for key in self._keys:
            present.update(np.unique(self.numbers(key)).tolist())
        return sorted(present)


def open_store(path: str | os.PathLike[str]) -> StoreReader:
    """Open a store for reading (same as ``StoreReader(path)``)."""
    return StoreReader(path)
