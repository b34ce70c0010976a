"""One Convention component per electronic-structure code."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hamkit.components import ComponentConfig, Convention
from hamkit.physics.orbital_order import matrix_from_canonical, matrix_to_canonical


class NoOptions(ComponentConfig):
    """Conventions take no options."""


class TableConvention(Convention):
    """A convention defined by a table of :mod:`hamkit.physics.orbital_order`."""

    Config: ClassVar[type[ComponentConfig]] = NoOptions
    table: ClassVar[str] = ""

    def __init__(self, config: NoOptions | None = None) -> None:
        self.config = config or NoOptions()

    def to_canonical(self, matrix: np.ndarray, numbers: np.ndarray, basis: Any) -> np.ndarray:
        return matrix_to_canonical(matrix, numbers, basis, self.table)

    def from_canonical(self, matrix: np.ndarray, numbers: np.ndarray, basis: Any) -> np.ndarray:
        return matrix_from_canonical(matrix, numbers, basis, self.table)


class PySCFConvention(TableConvention):
    """PySCF (QH9): p as (px, py, pz), d and higher m = -l..l; verified for any l."""

    name: ClassVar[str] = "pyscf"
    table: ClassVar[str] = "pyscf"


class OrcaConvention(TableConvention):
    """ORCA and Psi4 (MD17/SchNOrb): m = 0, +1, -1, +2, -2, ...; signs verified for s, p, d."""

    name: ClassVar[str] = "orca"
    table: ClassVar[str] = "orca"


class OpenMXConvention(TableConvention):
    """OpenMX (DeepH folders): published tables for s, p, d, f."""

    name: ClassVar[str] = "openmx"
    table: ClassVar[str] = "openmx"


class AimsConvention(TableConvention):
    """FHI-aims: m = -l..l with sign flips on p(+1) and d(+1); s, p, d."""

    name: ClassVar[str] = "aims"
    table: ClassVar[str] = "aims"
