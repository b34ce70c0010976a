"""Contract of the ``invariant_encoder`` kind: equivariant features -> invariants."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from hamkit.components.base import Component


class InvariantEncoder(nn.Module, Component):
    """Maps equivariant features to rotation-invariant features z.

    Because z is invariant it may use any non-linearity. TraceGrad decodes z of
    each pair to predicted trace labels and differentiates z to induce new
    equivariant features (see the ``inducer`` kind). Subclasses set
    :attr:`num_invariants` when built.
    """

    kind: ClassVar[str] = "invariant_encoder"
    num_invariants: int
    """Width of z, the last dimension of :meth:`forward`'s output; set once built."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Encode.

        Args:
            features: Equivariant features, shape (n_items, irreps.dim).

        Returns:
            Invariant features z, shape (n_items, n_invariants).
        """
        raise NotImplementedError
