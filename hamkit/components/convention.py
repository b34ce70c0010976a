"""Contract of the ``convention`` kind: one code's orbital order and signs."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hamkit.components.base import Component


class Convention(Component):
    """Converts a code's AO matrices to hamkit's canonical convention and back."""

    kind: ClassVar[str] = "convention"

    def to_canonical(
        self, matrix: np.ndarray, numbers: np.ndarray, basis: Any
    ) -> np.ndarray:  # pragma: no cover - abstract
        """Reorder (and re-sign) a (..., n_ao, n_ao) matrix into the canonical convention."""
        raise NotImplementedError

    def from_canonical(
        self, matrix: np.ndarray, numbers: np.ndarray, basis: Any
    ) -> np.ndarray:  # pragma: no cover - abstract
        """Exact inverse of :meth:`to_canonical`."""
        raise NotImplementedError
