"""Contract of the ``dataset`` kind: structures with H (and S) in the canonical convention."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, overload

from hamkit.components.base import Component
from hamkit.errors import HamkitError

if TYPE_CHECKING:
    from hamkit.data.structure import Structure


class Dataset(Component, Sequence):
    """Random-access collection of labelled structures.

    Readers convert from their file's orbital convention once, at load, so every
    record they return is in hamkit's canonical convention.

    Attributes:
        basis: The orbital basis (``hamkit.data.basis.OrbitalBasis``) of every record.
    """

    kind: ClassVar[str] = "dataset"
    basis: Any
    path: Path | None = None
    """The file or folder the records are read from (messages name it); None: not a file."""

    @property
    def provenance(self) -> dict[str, Any] | None:
        """Where the labels came from (code, functional, basis, command line, ...), when known."""
        return None

    def describe(self) -> dict[str, Any]:
        """What ``hamkit data info`` prints about the files: records, basis, units, layout.

        Raises:
            HamkitError: This dataset cannot describe its files (the default).
        """
        raise HamkitError(f"dataset '{self.name}' cannot describe its files (it has no "
                          "describe() method): convert it with 'hamkit data convert' first")

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:  # pragma: no cover - abstract
        """Record ``index`` (negative counts from the end), or a list of records for a slice."""
        raise NotImplementedError

    def key_and_structure(self, index: int) -> tuple[str | None, Structure]:
        """The key and atoms of record ``index`` (for geometry checks and sizes of large data).

        The default reads the whole record; readers that can skip the matrices override it
        (the ``hamkit`` store reads only numbers, positions and charge).

        Returns:
            ``(record.key, record.structure)``.
        """
        record = self[index]
        return record.key, record.structure
