"""The ``hamkit`` dataset: records of a hamkit store (HDF5), or of an embedded dataset."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, overload

from pydantic import Field

from hamkit.components import ComponentConfig, Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreHeader, StoreReader
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError
from hamkit_plugins.datasets.embedded import resolve_path


class HamkitStoreConfig(ComponentConfig):
    """Options of the ``hamkit`` dataset."""

    path: str = Field(description="Store file (.h5), or embedded:water / embedded:qm9_mini.")
    limit: int | None = Field(None, ge=1, description="Use only the first N structures.")


class HamkitStoreDataset(Dataset):
    """hamkit's own HDF5 store (canonical H and S, Hartree, Angstrom); embedded:<name> too."""

    name: ClassVar[str] = "hamkit"
    Config: ClassVar[type[ComponentConfig]] = HamkitStoreConfig

    def __init__(self, config: HamkitStoreConfig) -> None:
        self.config = config
        self.path = resolve_path(config.path)
        self.store = StoreReader(self.path)
        self._length = len(self.store) if config.limit is None else min(config.limit, len(self.store))

    @property
    def header(self) -> StoreHeader:
        """The store header (basis, units, convention, provenance)."""
        return self.store.header

    @property
    def basis(self) -> OrbitalBasis:
        """Orbital basis of every record."""
        return self.store.header.basis

    @property
    def provenance(self) -> dict[str, Any]:
        """How the labels were made (code, version, xc, basis, grid level, ...)."""
        return dict(self.store.header.provenance)

    @property
    def keys(self) -> list[str]:
        """Record keys, in order (after ``limit``)."""
        return self.store.keys[: self._length]

    def species(self) -> list[int]:
        """Atomic numbers present in the used records, sorted (no matrices read)."""
        present: set[int] = set()
        for index in range(self._length):
            present.update(self.store.numbers(self.store.key_at(index)).tolist())
        return sorted(present)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> HamiltonianRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[HamiltonianRecord]: ...

    def __getitem__(self, index: int | slice) -> HamiltonianRecord | list[HamiltonianRecord]:
        """Record ``index`` (negative allowed) or a list of records for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._length))]
        return self.store[self._position(index)]

    def key_and_structure(self, index: int) -> tuple[str, Structure]:
        """Key and atoms of record ``index`` without reading its matrices (see
        :meth:`hamkit.data.store.StoreReader.structure`)."""
        key = self.store.key_at(self._position(index))
        return key, self.store.structure(key)

    def _position(self, index: int) -> int:
        """Position of record ``index`` in the store (negative counts from the end of the used records).

        Raises:
            IndexError: Out of range.
        """
        position = int(index)
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"record {index} out of range ({self._length} records in {self.path})")
        return position

    def __iter__(self) -> Iterator[HamiltonianRecord]:
        for index in range(self._length):
            yield self.store[index]

    def close(self) -> None:
        """Close the file (re-opened on the next access)."""
        self.store.close()


def open_dataset(path: str, limit: int | None = None) -> HamkitStoreDataset:
    """Convenience: the ``hamkit`` dataset for a path or ``embedded:<name>``.

    Raises:
        HamkitError: Unknown embedded name, missing or invalid file.
    """
    if limit is not None and limit < 1:
        raise HamkitError(f"limit must be >= 1, got {limit}")
    return HamkitStoreDataset(HamkitStoreConfig(path=path, limit=limit))
