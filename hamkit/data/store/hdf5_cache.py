"""HDF5 cache settings of a store reader: the per-file metadata cache cap.

A :class:`~hamkit.data.store.reader.StoreReader` applies :func:`limit_metadata_cache` each
time it (re-)opens its file, so the cap also holds in every data-loader worker.
"""

from __future__ import annotations

import h5py

READER_METADATA_CACHE_BYTES = 2 * 2**20
"""Ceiling of a reader's HDF5 metadata cache (HDF5's default grows to 32 MB).

HDF5 sizes the cache by the on-disk size of its entries, but a decoded record header takes
~20x that in memory: with the default, listing a 100k-record store left ~480 MB resident
(and every DataLoader worker copied it), with 2 MB ~60 MB. Records are read once per pass
in random order, so a small cache costs no measurable time (~0.4 ms per structure read,
~1 ms per small record, either way)."""


def limit_metadata_cache(handle: h5py.File) -> None:
    """Cap the HDF5 metadata cache of an open file at :data:`READER_METADATA_CACHE_BYTES`.

    Sets the initial and maximum size to the cap (and lowers the minimum to it if needed);
    the other metadata-cache settings keep HDF5's values.

    Args:
        handle: An open HDF5 file; its metadata-cache configuration is changed in place.
    """
    config = handle.id.get_mdc_config()
    config.set_initial_size = True
    config.initial_size = config.max_size = READER_METADATA_CACHE_BYTES
    config.min_size = min(config.min_size, READER_METADATA_CACHE_BYTES)
    handle.id.set_mdc_config(config)
