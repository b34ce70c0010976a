"""Names inside a hamkit store file, and opening it with errors users can act on.

Layout (HDF5)::

    /                       attribute hamkit_header (JSON, see header.py)
    /structures/<key>       one group per structure, in insertion order
        numbers             int64 (n_atoms,)
        positions           float64 (n_atoms, 3), Angstrom
        hamiltonian         float64 (n_orbitals, n_orbitals), canonical order, Hartree
        overlap             float64 (n_orbitals, n_orbitals), optional
        extras/<name>       optional array-valued extras (e.g. forces)
        attributes: charge (int), energy (float, optional), extras (JSON of scalar extras),
                    source_id (str, optional), complete (True; written LAST)

A group without ``complete`` is a record whose write was interrupted: readers ignore it
and writers replace it.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from hamkit.data.store.header import HEADER_ATTRIBUTE, StoreFormatError, StoreHeader
from hamkit.errors import HamkitError

STRUCTURES = "structures"
COMPLETE = "complete"
NUMBERS = "numbers"
POSITIONS = "positions"
HAMILTONIAN = "hamiltonian"
OVERLAP = "overlap"
EXTRAS = "extras"
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
