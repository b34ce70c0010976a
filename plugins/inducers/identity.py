"""The ``none`` inducer: features pass through unchanged (the base-model ablation)."""

from __future__ import annotations

from typing import ClassVar

import torch

from hamkit.components import ComponentConfig, Inducer
from hamkit.components.inducer import InvariantFunction


class IdentityConfig(ComponentConfig):
    """The ``none`` inducer has no options."""


class IdentityInducer(Inducer):
    """No induced features: returns its input, the base model of an ablation."""

    name: ClassVar[str] = "none"
    Config: ClassVar[type[ComponentConfig]] = IdentityConfig

    def __init__(self, config: IdentityConfig) -> None:
        super().__init__()

    def forward(self, features: torch.Tensor, invariants_of: InvariantFunction | None) -> torch.Tensor:
        return features
