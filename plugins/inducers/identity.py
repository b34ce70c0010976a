"""The ``none`` inducer: features pass through unchanged (the base-model ablation)."""

from __future__ import annotations

from typing import ClassVar

import torch

from hamkit.components import BuildContext, ComponentConfig, Inducer
from hamkit.components.inducer import InvariantFunction


class IdentityConfig(ComponentConfig):
    """The ``none`` inducer has no options."""


class IdentityInducer(Inducer):
    """No induced features: returns its input, the base model of an ablation.

    Attributes:
        irreps_in: The irreps of the stage's features (``irreps_out`` is the same).
    """

    name: ClassVar[str] = "none"
    Config: ClassVar[type[ComponentConfig]] = IdentityConfig

    def __init__(self, config: IdentityConfig, irreps_in: str | None = None) -> None:
        """Build.

        Args:
            config: Validated (empty) options.
            irreps_in: e3nn irreps of the features it passes through (None: undeclared).
        """
        super().__init__()
        self.irreps_in = irreps_in

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "IdentityInducer":
        """Build for the stage's features (``context.declared.irreps``)."""
        assert isinstance(config, IdentityConfig)
        return cls(config, irreps_in=context.declared.irreps)

    def forward(self, features: torch.Tensor, invariants_of: InvariantFunction | None) -> torch.Tensor:
        """Return ``features`` (n_items, irreps.dim) unchanged."""
        return features
