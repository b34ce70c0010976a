"""Contract of the ``featurizer`` kind: an equivariant backbone."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from hamkit.components.base import Component
from hamkit.components.features import EquivariantFeatures


class Featurizer(nn.Module, Component):
    """Equivariant backbone: a batched structure graph in, node and pair features out.

    Subclasses declare their output irreps (``node_irreps``, ``pair_irreps``, e3nn
    strings) once built, and implement :meth:`forward`. Positions reach them in
    Angstrom; spherical harmonics must be taken in e3nn's (y, z, x) frame (see
    ``hamkit.physics.frames``) so that features match the canonical orbital order.
    """

    kind: ClassVar[str] = "featurizer"
    node_irreps: str
    pair_irreps: str

    def forward(self, graph: Any) -> EquivariantFeatures:  # pragma: no cover - abstract
        """Compute equivariant features.

        Args:
            graph: A torch-geometric batch with at least ``z`` (n_atoms,),
                ``pos`` (n_atoms, 3), ``batch`` (n_atoms,) and ``pair_index`` (2, n_pairs).

        Returns:
            Node and pair features with the declared irreps.
        """
        raise NotImplementedError
