"""Shared plumbing of the dataset readers of foreign file formats (QH9, MD17, DeepH, ...).

A reader subclasses :class:`FileDataset`, opens its file in ``__init__`` (checking what
can be checked cheaply), sets :attr:`FileDataset.basis`, and implements
:meth:`FileDataset._read` (one record, canonical convention, Hartree, Angstrom, already
checked with :mod:`hamkit.data.validation`). This class adds the sequence protocol
(negative indices, slices, ``limit``), :meth:`FileDataset.species` and
:meth:`FileDataset.describe`, the dictionary ``hamkit data info`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, overload

import numpy as np

from hamkit.components.dataset import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.store.header import UNITS
from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError


class FileDataset(Dataset):
    """Random access to the records of one foreign file (or folder).

    Subclasses set :attr:`path`, :attr:`basis`, :attr:`record_names` (one per record, in
    order, e.g. ``"id=7"``) and :attr:`limit`, and implement :meth:`_read`.

    Attributes:
        path: The file or folder.
        basis: Orbital basis of every record.
        record_names: How each record is named in messages, in order.
        limit: Use only the first ``limit`` records (None: all).
        format_label: Human-readable format, e.g. ``"QH9 SQLite (stable)"``.
    """

    format_label: str = ""
    path: Path
    basis: OrbitalBasis
    record_names: list[str]
    limit: int | None = None

    # ------------------------------------------------------------------ to implement
    def _read(self, position: int) -> HamiltonianRecord:  # pragma: no cover - abstract
        """The record at ``position`` (0-based, in range), checked and canonical."""
        raise NotImplementedError

    def _numbers(self, position: int) -> np.ndarray:
        """Atomic numbers of one record; override when they are cheaper than the record."""
        return self._read(position).structure.numbers

    def _all_numbers(self) -> list[np.ndarray]:
        """Atomic numbers of every used record; override when one query is cheaper."""
        return [self._numbers(position) for position in range(len(self))]

    @property
    def provenance(self) -> dict[str, Any]:
        """How the labels were made, as far as the file tells (override to add)."""
        return {"source": {"format": self.name, "path": str(self.path)}}

    def describe_notes(self) -> list[str]:
        """Extra lines for ``hamkit data info`` (override to add)."""
        return []

    # ------------------------------------------------------------------ sequence
    def __len__(self) -> int:
        total = len(self.record_names)
        return total if self.limit is None else min(self.limit, total)

    @overload
    def __getitem__(self, index: int) -> HamiltonianRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[HamiltonianRecord]: ...

    def __getitem__(self, index: int | slice) -> HamiltonianRecord | list[HamiltonianRecord]:
        """Record ``index`` (negative allowed), or a list of records for a slice.

        Raises:
            IndexError: Out of range.
            RecordError: The record cannot be read correctly (names file and record).
        """
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = int(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"record {index} out of range ({len(self)} records in {self.path})")
        return self._read(position)

    def __iter__(self) -> Iterator[HamiltonianRecord]:
        for position in range(len(self)):
            yield self._read(position)

    @property
    def keys(self) -> list[str]:
        """Record names, in order (after ``limit``)."""
        return self.record_names[: len(self)]

    def species(self) -> list[int]:
        """Atomic numbers present in the used records, sorted."""
        present: set[int] = set()
        for numbers in self._all_numbers():
            present.update(numbers.tolist())
        return sorted(present)

    # ------------------------------------------------------------------ info
    def describe(self) -> dict[str, Any]:
        """What ``hamkit data info PATH --from FORMAT [--json]`` prints.

        The keys are those of a hamkit store's info (``hamkit.data.store_summary.store_info``),
        with ``format`` the dataset name, ``version`` None, and ``notes`` added.

        Returns:
            ``{"path", "format", "version", "layout", "structures", "incomplete", "elements",
            "element_symbols", "orbitals": {"min", "max"}, "basis", "convention", "units",
            "provenance", "size_bytes", "notes"}``; ``convention`` and ``units`` are those of
            the records the reader returns (canonical, Hartree, Angstrom).
        """
        from pyscf.data.elements import ELEMENTS

        elements: set[int] = set()
        sizes: list[int] = []
        for numbers in self._all_numbers():
            elements.update(numbers.tolist())
            sizes.append(self.basis.total_orbitals(numbers))
        ordered = sorted(elements)
        return {
            "path": str(self.path),
            "format": self.name,
            "version": None,
            "layout": self.format_label,
            "structures": len(self),
            "incomplete": 0,
            "elements": ordered,
            "element_symbols": [ELEMENTS[z] for z in ordered],
            "orbitals": {"min": min(sizes, default=0), "max": max(sizes, default=0)},
            "basis": self.basis.to_dict(),
            "convention": "canonical",
            "units": dict(UNITS),
            "provenance": self.provenance,
            "size_bytes": _size_bytes(self.path),
            "notes": self.describe_notes(),
        }


def _size_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())
    return path.stat().st_size if path.exists() else 0


def existing_path(path: str | os.PathLike[str], what: str) -> Path:
    """Expand ``~`` and require that the path exists.

    Args:
        path: The ``path`` option.
        what: What was expected there (for the message), e.g. ``"a QH9 database"``.

    Returns:
        The path.

    Raises:
        HamkitError: Nothing there.
    """
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise HamkitError(f"{resolved}: no such file or folder (expected {what})")
    return resolved


class ProcessLocal:
    """A resource (database connection) opened lazily and re-opened in a child process.

    Readers are handed to data-loader workers; SQLite connections and LMDB environments
    must not cross a ``fork``. The holder pickles without the resource.

    Args:
        opener: Opens the resource (called again in each process).
        closer: Closes it (optional).
    """

    def __init__(self, opener: Any, closer: Any = None) -> None:
        self._opener = opener
        self._closer = closer
        self._value: Any = None
        self._pid = -1

    def get(self) -> Any:
        """The resource of the current process."""
        if self._value is None or self._pid != os.getpid():
            self._value = self._opener()
            self._pid = os.getpid()
        return self._value

    def close(self) -> None:
        """Close the resource if this process opened it."""
        if self._value is not None and self._pid == os.getpid() and self._closer is not None:
            self._closer(self._value)
        self._value = None

    def __getstate__(self) -> dict[str, Any]:
        return {"_opener": self._opener, "_closer": self._closer, "_value": None, "_pid": -1}
