"""hamkit's own on-disk format: an HDF5 store of structures with H and S.

One group per structure (``structures/<key>``) holding numbers, positions (Angstrom),
hamiltonian and overlap (canonical orbital convention, Hartree), charge and energy;
periodic records (format version 2) add the cell, pbc and lattice translations with one
matrix H(R) per translation. A JSON header (format, version, basis, units, convention, provenance) as a root attribute.
Records become visible only once completely written, so an interrupted run never yields
a half-written record. See :mod:`hamkit.data.store.layout` for the exact layout.

Example::

    from hamkit.data.store import StoreReader
    with StoreReader("water.h5") as store:
        record = store[0]          # HamiltonianRecord
        store.header.basis         # OrbitalBasis
"""

from hamkit.data.store.header import (
    FORMAT_NAME,
    FORMAT_VERSION,
    PERIODIC_VERSION,
    UNITS,
    StoreFormatError,
    StoreHeader,
    merge_basis,
)
from hamkit.data.store.reader import StoreReader, open_store
from hamkit.data.store.writer import StoreWriter

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PERIODIC_VERSION",
    "UNITS",
    "StoreFormatError",
    "StoreHeader",
    "StoreReader",
    "StoreWriter",
    "merge_basis",
    "open_store",
]
