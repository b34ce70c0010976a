"""Appending records to a hamkit store so that an interrupted run loses at most one.

Every :meth:`StoreWriter.write` creates the record's group, writes all its datasets and
attributes, flushes, and only then sets the ``complete`` attribute and flushes again. A
process killed at any point therefore leaves complete records plus at most one group
without ``complete``, which readers ignore. The next writer copies the complete records
into a fresh file (HDF5 metadata of the interrupted group may be inconsistent, so it is
not edited in place), which replaces the old one.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hamkit.data.store import layout
from hamkit.data.store.header import HEADER_ATTRIBUTE, PERIODIC_VERSION, StoreHeader, merge_basis
from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError


def _split_extras(extras: dict[str, Any]) -> tuple[float | None, dict[str, Any], dict[str, np.ndarray]]:
    """Energy, JSON-safe scalar extras, and array extras (stored as datasets)."""
    energy = extras.get("energy")
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in extras.items():
        if name == "energy":
            continue
        if isinstance(value, np.ndarray):
            arrays[name] = value
        elif isinstance(value, np.generic):
            scalars[name] = value.item()
        else:
            scalars[name] = value
    try:
        json.dumps(scalars)
    except TypeError as error:
        raise HamkitError(f"record extras must be arrays or JSON values: {error}") from None
    return (None if energy is None else float(energy)), scalars, arrays


def _drop_incomplete(path: Path) -> list[str]:
    """Rewrite ``path`` without its incomplete records; return their keys.

    A process killed while HDF5 flushes can leave the group index of the interrupted
    record inconsistent, so deleting it in place may fail. Instead the header and every
    complete record are copied (compression kept) into a new file that atomically
    replaces the old one. Nothing is rewritten when all records are complete.

    Raises:
        HamkitError: The file is not a readable store, or a complete record cannot be read.
    """
    with layout.open_hdf5(path, "r") as source:
        layout.read_header(source, str(path))
        done, partial = layout.complete_keys(source)
        if not partial and layout.STRUCTURES in source:
            return []
        temporary = path.with_name(path.name + ".recover.tmp")
        try:
            with h5py.File(temporary, "w") as target:
                target.attrs[HEADER_ATTRIBUTE] = source.attrs[HEADER_ATTRIBUTE]
                structures = target.create_group(layout.STRUCTURES, track_order=True)
                for key in done:
                    source.copy(source[layout.STRUCTURES][key], structures, name=key)
        except (OSError, KeyError, RuntimeError) as error:
            temporary.unlink(missing_ok=True)
            raise HamkitError(
                f"{path}: cannot recover the complete records of an interrupted run ({error}); "
                "start a new file"
            ) from None
    os.replace(temporary, path)
    return partial


class StoreWriter:
    """Create a store or append to an existing one.

    Args:
        path: The ``.h5`` file.
        header: Header of a new file. For an existing file it may be None (keep the stored
            header); if given, its basis is merged into the stored one (elements may be
            added, shells of known elements must agree).
        compression: h5py filter for the matrices (``"gzip"`` or None). Plain gzip saves
            ~15% on def2-SVP matrices of ~100 orbitals (byte shuffling makes it worse).

    Raises:
        HamkitError: A new file without a header; an existing file that is not a store.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: StoreHeader | None = None,
        *,
        compression: str | None = "gzip",
    ) -> None:
        self.path = Path(path)
        self.compression = compression
        self.dropped: list[str] = []
        """Keys of incomplete records (interrupted writes) removed when the file was opened."""
        if self.path.exists():
            self.dropped = _drop_incomplete(self.path)
            self._handle = layout.open_hdf5(self.path, "r+")
            try:
                self.header = layout.read_header(self._handle, str(self.path))
                if header is not None:
                    basis = merge_basis(self.header.basis, header.basis, str(self.path))
                    if basis is not self.header.basis:
                        self.set_header(dataclasses.replace(self.header, basis=basis))
                self._structures = self._handle[layout.STRUCTURES]
                self._keys, _ = layout.complete_keys(self._handle)
            except BaseException:
                self._handle.close()
                raise
        else:
            if header is None:
                raise HamkitError(f"{self.path}: a new store needs a header (basis, provenance)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = layout.open_hdf5(self.path, "w-")
            self._handle.attrs[HEADER_ATTRIBUTE] = header.to_json()
            self._structures = self._handle.create_group(layout.STRUCTURES, track_order=True)
            self._handle.flush()
            self.header = header
            self._keys = []
        self._key_set = set(self._keys)

    # ------------------------------------------------------------------ header
    def set_header(self, header: StoreHeader) -> None:
        """Replace the header (e.g. to add provenance of a resumed run)."""
        self._handle.attrs[HEADER_ATTRIBUTE] = header.to_json()
        self._handle.flush()
        self.header = header

    @property
    def keys(self) -> list[str]:
        """Keys of the complete records, in storage order."""
        return list(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def __len__(self) -> int:
        return len(self._keys)

    # ------------------------------------------------------------------ records
    def write(self, record: HamiltonianRecord, *, source_id: str | None = None) -> None:
        """Append one record (canonical convention, Hartree, Angstrom) and flush.

        Args:
            record: The record; ``record.key`` names its group, ``record.extras["energy"]``
                becomes the ``energy`` attribute, other extras are stored too.
            source_id: Optional fingerprint of the input the record was made from (lets a
                resumed run check that a key still means the same structure).

        Raises:
            HamkitError: Duplicate or invalid key, element missing from the header basis,
                matrix shapes that disagree with the basis.
        """
        key = layout.check_key(record.key)
        if key in self._key_set:
            raise HamkitError(f"{self.path}: record {key!r} is already stored")
        numbers = record.structure.numbers
        missing = sorted(set(numbers.tolist()) - set(self.header.basis.elements))
        if missing:
            raise HamkitError(
                f"{self.path}: record {key!r} has element(s) Z={missing} that the store's basis "
                f"{self.header.basis.name!r} does not cover"
            )
        n_orbitals = self.header.basis.total_orbitals(numbers)
        matrices = {layout.HAMILTONIAN: record.hamiltonian, layout.OVERLAP: record.overlap}
        if record.is_periodic:
            self._check_periodic(record, matrices, n_orbitals)
        else:
            for name, matrix in matrices.items():
                if matrix is not None and np.shape(matrix) != (n_orbitals, n_orbitals):
                    raise HamkitError(
                        f"{self.path}: record {key!r} {name} has shape {np.shape(matrix)}, "
                        f"expected ({n_orbitals}, {n_orbitals}) for basis {self.header.basis.name!r}"
                    )
        energy, scalars, arrays = _split_extras(dict(record.extras))

        group = self._structures.create_group(key)
        group.create_dataset(layout.NUMBERS, data=numbers.astype(np.int64))
        group.create_dataset(layout.POSITIONS, data=record.structure.positions.astype(np.float64))
        if record.is_periodic:
            assert record.structure.cell is not None and record.translations is not None
            group.create_dataset(layout.CELL, data=record.structure.cell.astype(np.float64))
            group.create_dataset(layout.TRANSLATIONS, data=record.translations.astype(np.int64))
            group.attrs[layout.PBC] = np.array(record.structure.pbc, dtype=bool)
        for name, matrix in matrices.items():
            if matrix is not None:
                group.create_dataset(name, data=np.asarray(matrix, dtype=np.float64),
                                     compression=self.compression)
        if arrays:
            extra_group = group.create_group(layout.EXTRAS)
            for name, value in arrays.items():
                extra_group.create_dataset(name, data=value)
        group.attrs["charge"] = int(record.structure.charge)
        if energy is not None:
            group.attrs["energy"] = energy
        if scalars:
            group.attrs[layout.EXTRAS] = json.dumps(scalars)
        if source_id is not None:
            group.attrs["source_id"] = source_id
        self._handle.flush()
        group.attrs[layout.COMPLETE] = True  # last: the record now counts
        self._handle.flush()
        self._keys.append(key)
        self._key_set.add(key)

    def _check_periodic(self, record: HamiltonianRecord, matrices: dict[str, Any],
                        n_orbitals: int) -> None:
        """Validate a periodic record and upgrade a version-1 header to version 2.

        Raises:
            HamkitError: Missing cell, unpaired or duplicate translations, wrong shapes.
        """
        assert record.translations is not None
        shapes = {name: np.shape(matrix) for name, matrix in matrices.items() if matrix is not None}
        problem = layout.periodic_problem(record.structure.cell, record.structure.pbc,
                                          record.translations, shapes, n_orbitals)
        if problem is not None:
            raise HamkitError(f"{self.path}: periodic record {record.key!r} {problem}")
        if self.header.version < PERIODIC_VERSION:
            self.set_header(dataclasses.replace(self.header, version=PERIODIC_VERSION))

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Flush and close the file."""
        if self._handle.id.valid:
            self._handle.flush()
            self._handle.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
