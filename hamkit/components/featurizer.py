"""Contract of the ``featurizer`` kind: an equivariant backbone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from hamkit.components.base import Component
from hamkit.components.features import EquivariantFeatures
from hamkit.data.graph_fields import StructureGraph


@dataclass(frozen=True)
class InductionPoint:
    """A place inside a featurizer where TraceGrad may update features between blocks.

    Attributes:
        block: Index of the block after which the features are updated (0-based).
        attribute: Name of the attribute of the block state holding the features.
        irreps: e3nn irreps string of those features.
    """

    block: int
    attribute: str
    irreps: str


class Featurizer(nn.Module, Component):
    """Equivariant backbone: a batched structure graph in, node and pair features out.

    Subclasses declare their output irreps (``node_irreps``, ``pair_irreps``, e3nn
    strings) once built, and implement :meth:`forward`. Positions reach them in
    Angstrom; spherical harmonics must be taken in e3nn's (y, z, x) frame (see
    ``hamkit.physics.frames``) so that features match the canonical orbital order.
    """

    kind: ClassVar[str] = "featurizer"
    supports_periodic: ClassVar[bool] = False
    """True when the featurizer uses the periodic-image vectors ``pair_shift`` of crystal graphs."""
    node_irreps: str
    pair_irreps: str
    pair_cutoff: float | None = None
    """Distance (Angstrom) beyond which the featurizer's pair features vanish: graphs for it are
    built with pairs up to this distance only, so blocks it cannot predict are not fitted.
    None (the default): every pair of a molecule (crystals need a value)."""

    def forward(self, graph: StructureGraph) -> EquivariantFeatures:  # pragma: no cover - abstract
        """Compute equivariant features.

        Args:
            graph: A torch-geometric batch with at least ``z`` (n_atoms,),
                ``pos`` (n_atoms, 3), ``batch`` (n_atoms,) and ``pair_index`` (2, n_pairs).

        Returns:
            Node and pair features with the declared irreps.
        """
        raise NotImplementedError

    def induction_points(self) -> list[InductionPoint]:
        """Where TraceGrad may act between blocks; empty (the default) means output only."""
        return []

    def forward_blocks(self, graph: StructureGraph) -> Iterator[Any]:  # pragma: no cover - optional
        """Run block by block, yielding the mutable state after each block."""
        raise NotImplementedError(f"featurizer '{self.name}' does not run block by block")

    def features(self, state: Any) -> EquivariantFeatures:  # pragma: no cover - optional
        """The output features from the state after the last block."""
        raise NotImplementedError(f"featurizer '{self.name}' does not run block by block")

    def run_blocks(self, graph: StructureGraph) -> EquivariantFeatures:
        """:meth:`features` of the state after the last of :meth:`forward_blocks`.

        Featurizers made of blocks can implement ``forward`` as ``return self.run_blocks(graph)``.
        """
        state = None
        for state in self.forward_blocks(graph):  # noqa: B007 - only the last state is kept
            pass
        if state is None:
            raise RuntimeError(f"featurizer '{self.name}' yielded no block state")
        return self.features(state)
