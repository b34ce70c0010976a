"""Contract of the ``inducer`` kind: updates equivariant features from invariants."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from hamkit.components.base import Component

InvariantFunction = Callable[[torch.Tensor], torch.Tensor]
"""Maps features (n_items, irreps.dim) to invariants (n_items, n_invariants)."""


class Inducer(nn.Module, Component):
    """Returns updated equivariant features with exactly the irreps it was given.

    The TraceGrad ``gradient`` inducer adds d(sum z)/df; baselines (``none``,
    ``gate``) let ablations swap the mechanism without touching the rest.

    Subclasses set :attr:`irreps_in` when built (``from_config`` gets the stage's irreps
    as ``context.declared.irreps``); :attr:`irreps_out` is ``irreps_in``. The assembler
    checks both against the stage's features, so an inducer whose output irreps differ
    (overriding ``irreps_out``) fails at build time.
    """

    kind: ClassVar[str] = "inducer"
    needs_invariants: ClassVar[bool] = False
    """True when the inducer cannot work without an invariant encoder in the recipe."""
    irreps_in: str | None = None
    """e3nn irreps of the features it was built for; set once built (None: undeclared,
    which the assembler rejects)."""

    @property
    def irreps_out(self) -> str | None:
        """e3nn irreps of the induced features: those of the input, by contract."""
        return self.irreps_in

    def forward(
        self, features: torch.Tensor, invariants_of: InvariantFunction | None
    ) -> torch.Tensor:  # pragma: no cover - abstract
        """Induce.

        Args:
            features: Equivariant features f, shape (n_items, irreps.dim).
            invariants_of: The invariant encoder as a function of f, or None when
                the recipe has no invariant encoder.

        Returns:
            Updated features, same shape and irreps as ``features``.
        """
        raise NotImplementedError
