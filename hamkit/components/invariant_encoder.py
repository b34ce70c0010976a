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
    :attr:`irreps_in` and :attr:`num_invariants` when built; the assembler checks that
    ``irreps_in`` is what the stage's features have (the context's ``declared.irreps``).
    """

    kind: ClassVar[str] = "invariant_encoder"
    irreps_in: str | None = None
    """e3nn irreps of the features it was built for, (n_items, irreps.dim); set once built
    (None: undeclared, which the assembler rejects)."""
    num_invariants: int = 0
    """Width of z, the last dimension of :meth:`forward`'s output; set once built (0:
    undeclared, which the assembler rejects)."""
    num_traces: int | None = None
    """Number of trace labels :meth:`decode_traces` predicts; None (the default): the encoder
    has no trace decoder and its invariants are not supervised with traces."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Encode.

        Args:
            features: Equivariant features, shape (n_items, irreps.dim).

        Returns:
            Invariant features z, shape (n_items, n_invariants).
        """
        raise NotImplementedError

    def decode_traces(self, invariants: torch.Tensor) -> torch.Tensor:  # pragma: no cover - optional
        """Predicted trace labels of each item, for encoders with ``num_traces`` set.

        Args:
            invariants: z, shape (n_items, num_invariants).

        Returns:
            Predicted traces, shape (n_items, num_traces).
        """
        raise NotImplementedError(f"invariant encoder '{self.name}' has no trace decoder")
