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
and writers replace it. A group whose ``complete`` mark is not a boolean, whose attributes
cannot be read, or an entry that is not a group is *damaged*: readers list it and report it
when it is read (see :func:`scan_records`); writers replace it like an interrupted one.

Every HDF5 failure (truncated file, bad superblock, a compressed chunk whose filter fails)
becomes a :class:`StoreFormatError` saying the file is truncated or damaged.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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

HDF5_ERRORS: tuple[type[Exception], ...] = (OSError, RuntimeError, KeyError, ValueError, TypeError)
"""What h5py raises on a damaged file (filter failure, bad B-tree or heap, undecodable
attribute); callers catch them only around HDF5 access."""
DAMAGED_FIX = "regenerate or re-download it"
TRUNCATED_FIX = ("an interrupted copy, download or write, or a full disk, cuts a file short: copy, "
                 "download or regenerate it again")


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
        HamkitError: Missing file, locked by another process.
        StoreFormatError: Not HDF5, truncated or damaged.
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
        raise open_error(path, mode, error) from None


def open_error(path: Path, mode: str, error: OSError) -> HamkitError:
    """The error for an HDF5 file that h5py cannot open: locked, truncated or damaged.

    Only a failed lock blames a lock: HDF5's text for a truncated file mentions
    ``sblock->base_addr``, which must not read as a lock.

    Args:
        path: The file.
        mode: The h5py mode that failed.
        error: h5py's error.

    Returns:
        The error to raise.
    """
    text = str(error)
    if "unable to lock file" in text.lower():
        if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) or "errno = 11" in text:
            return HamkitError(f"{path}: cannot open, another process has it open for writing; wait for it "
                               "to finish (or stop it) and try again")
        return HamkitError(f"{path}: cannot open, this file system does not support HDF5 file locking "
                           f"({text}); set HDF5_USE_FILE_LOCKING=FALSE and try again")
    if mode not in ("r", "r+"):
        return HamkitError(f"{path}: cannot create as HDF5: {text}")
    truncated = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", text)
    if truncated:
        size, stored = (int(value) for value in truncated.groups())
        return StoreFormatError(f"{path}: the file is truncated or damaged: it has {size} bytes, its HDF5 "
                                f"header declares {stored}; {TRUNCATED_FIX}")
    return StoreFormatError(f"{path}: the file is damaged or truncated and cannot be opened "
                            f"(HDF5: {text}); {DAMAGED_FIX}")


def damaged_error(source: str | Path, record: str | None, error: Exception,
                  what: str = "") -> StoreFormatError:
    """The error for an HDF5 failure while reading an open store.

    Args:
        source: The file.
        record: Key of the record being read; None for the file's own metadata.
        error: What h5py raised.
        what: The part being read (``"the header"``, ``"the list of records"``).

    Returns:
        ``"<file>: record '<key>': cannot be read: ...; <what to do>"``.
    """
    where = f"{source}: record {record!r}: " if record is not None else f"{source}: "
    part = f"{what} " if what else ""
    return StoreFormatError(f"{where}{part}cannot be read, the file is damaged or truncated "
                            f"(HDF5: {type(error).__name__}: {error}); {DAMAGED_FIX}")


@contextmanager
def reading(source: str | Path, record: str | None = None, what: str = "") -> Iterator[None]:
    """Turn h5py's errors inside the block into :func:`damaged_error`.

    Args:
        source: The file.
        record: Key of the record being read, or None.
        what: The part being read, for the message.

    Raises:
        StoreFormatError: h5py failed inside the block.
    """
    try:
        yield
    except HDF5_ERRORS as error:
        raise damaged_error(source, record, error, what) from None


def read_header(handle: h5py.File, source: str) -> StoreHeader:
    """Parse the root header attribute.

    Raises:
        StoreFormatError: No header attribute, an invalid one, or one HDF5 cannot read.
    """
    with reading(source, None, "the header"):
        text = handle.attrs[HEADER_ATTRIBUTE] if HEADER_ATTRIBUTE in handle.attrs else None
    if text is None:  # HDF5 attributes are never None: the attribute is missing
        raise StoreFormatError(
            f"{source}: HDF5 file but not a hamkit store (no '{HEADER_ATTRIBUTE}' attribute)"
        )
    return StoreHeader.from_json(text, source)


@dataclass(frozen=True)
class RecordIndex:
    """What the structure groups of a store are, by their ``complete`` mark.

    Attributes:
        order: Every key, in storage order.
        listed: Keys a reader exposes (complete or damaged), in storage order.
        incomplete: Keys of interrupted writes (no ``complete`` mark), hidden from readers.
        damaged: ``{key: problem}`` of entries whose metadata is damaged (a ``complete``
            mark that is not a boolean, unreadable attributes, not a group).
    """

    order: list[str] = field(default_factory=list)
    listed: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    damaged: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> list[str]:
        """Keys of the complete, undamaged records, in storage order."""
        return [key for key in self.listed if key not in self.damaged]


def scan_records(handle: h5py.File, source: str) -> RecordIndex:
    """Sort the structure groups into complete, incomplete (interrupted) and damaged.

    Args:
        handle: The open store.
        source: File name for messages.

    Returns:
        The index (one attribute read per record).

    Raises:
        StoreFormatError: ``structures`` is not a group, or its list of names cannot be read.
    """
    with reading(source, None, "the list of records"):
        group = handle.get(STRUCTURES)
        if group is None:
            return RecordIndex()
        if not isinstance(group, h5py.Group):
            raise StoreFormatError(f"{source}: '{STRUCTURES}' is not a group: the file is damaged or "
                                   f"not a hamkit store; {DAMAGED_FIX}")
        names = list(group.keys())
    index = RecordIndex(order=names)
    for key in names:
        try:
            state = completion_state(group.get(key))
        except HDF5_ERRORS as error:
            state = f"its metadata cannot be read (HDF5: {type(error).__name__}: {error})"
        if state is True:
            index.listed.append(key)
        elif state is False:
            index.incomplete.append(key)
        else:
            index.listed.append(key)
            index.damaged[key] = state
    return index


def completion_state(item: Any) -> bool | str:
    """True for a complete record, False for an interrupted one, else what is damaged.

    Args:
        item: The entry of ``structures`` (a group, a dataset, or None for a broken link).
    """
    if not isinstance(item, h5py.Group):
        return "is not a group" if item is None else f"is a {type(item).__name__.lower()}, not a group"
    mark = item.attrs.get(COMPLETE)
    if mark is None:
        return False
    if isinstance(mark, bool | np.bool_) or (isinstance(mark, np.integer) and int(mark) in (0, 1)):
        return bool(mark)
    shown = mark.item() if isinstance(mark, np.generic) else mark
    return f"its completion mark is {shown!r}, expected True"


def complete_keys(handle: h5py.File) -> tuple[list[str], list[str]]:
    """Keys of the complete and the other (incomplete or damaged) structure groups, in order.

    Writers drop the second list when they reopen a store; readers use :func:`scan_records`
    (which lists damaged records so that reading them raises).
    """
    index = scan_records(handle, str(handle.filename))
    others = set(index.incomplete) | set(index.damaged)
    return index.complete, [key for key in index.order if key in others]


def periodic_problem(cell: np.ndarray | None, pbc: Any, translations: np.ndarray,
                     matrix_shapes: dict[str, tuple[int, ...] | None], n_orbitals: int) -> str | None:
    """What is wrong with the periodic fields of a record, or None when they are valid.

    Args:
        cell: Lattice vectors as rows, expected (3, 3) and non-singular.
        pbc: Periodic axes, expected 3 booleans with at least one True.
        translations: Expected (n_R, 3) integers, unique, closed under R -> -R.
        matrix_shapes: Shape of each stored matrix stack by name, expected (n_R, n, n); None for
            a member that is not an array.
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
        if shape is None:
            return f"has a {name} that is not an array"
        if tuple(shape) != expected:
            return (f"has {name} of shape {tuple(shape)}, expected {expected} "
                    "(one matrix per lattice translation, orbitals from the basis)")
    return None
