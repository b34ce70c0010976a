"""Contract of the ``head`` kind: equivariant features -> Hamiltonian blocks."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from hamkit.components.base import Component
from hamkit.components.features import EquivariantFeatures
from hamkit.data.graph_fields import StructureGraph


class Head(nn.Module, Component):
    """Builds Hamiltonian sub-blocks in the canonical orbital convention.

    The head must make the assembled matrix exactly symmetric (H_ji = H_ij^T).
    Subclasses set :attr:`node_irreps_in` and :attr:`pair_irreps_in` when built
    (``from_config`` gets the featurizer's as ``context.declared.node_irreps`` /
    ``pair_irreps``); the assembler checks them against what the features provide.
    """

    kind: ClassVar[str] = "head"
    node_irreps_in: str | None = None
    """e3nn irreps of the node features (n_atoms, dim) it was built for; set once built
    (None: undeclared, which the assembler rejects)."""
    pair_irreps_in: str | None = None
    """e3nn irreps of the pair features (n_pairs, dim) it was built for; set once built
    (None: undeclared, which the assembler rejects)."""

    def forward(
        self, features: EquivariantFeatures, graph: StructureGraph
    ) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        """Predict.

        Args:
            features: Output of the featurizer (after any inducer).
            graph: The batch the features came from.

        Returns:
            At least ``"hamiltonian"``: packed blocks in the batch's block layout.
        """
        raise NotImplementedError
