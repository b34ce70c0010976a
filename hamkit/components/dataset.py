"""Contract of the ``dataset`` kind: structures with H (and S) in the canonical convention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from hamkit.components.base import Component


class Dataset(Component, Sequence):
    """Random-access collection of labelled structures.

    Readers convert from their file's orbital convention once, at load, so every
    record they return is in hamkit's canonical convention.

    Attributes:
        basis: The orbital basis (``hamkit.data.basis.OrbitalBasis``) of every record.
    """

    kind: ClassVar[str] = "dataset"
    basis: Any

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
