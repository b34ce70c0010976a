"""Element-wise losses on Hamiltonian matrix elements, with an optional mask."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from pydantic import Field

from hamkit.components import ComponentConfig, Loss
from hamkit.data.graph_fields import HAMILTONIAN
from hamkit.errors import HamkitError

PREDICTION_KEY = HAMILTONIAN
MASK_KEY = "hamiltonian_mask"


class ElementwiseConfig(ComponentConfig):
    """Options shared by the element-wise Hamiltonian losses."""

    key: str = Field(PREDICTION_KEY, description="Prediction/target entry the loss compares.")


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of ``values`` over the elements where ``mask`` is 1 (all when None).

    Args:
        values: Per-element losses, shape (n_elements,).
        mask: 0/1 weights, shape (n_elements,), or None.

    Returns:
        Scalar tensor.
    """
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


class _ElementwiseLoss(Loss):
    Config: ClassVar[type[ComponentConfig]] = ElementwiseConfig

    def __init__(self, config: ElementwiseConfig) -> None:
        super().__init__()
        self.key = config.key

    def residual(
        self, prediction: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        """Prediction minus target for the configured key, shape (n_elements,)."""
        for source, where in ((prediction, "prediction"), (target, "target")):
            if self.key not in source:
                raise HamkitError(
                    f"loss '{self.name}': the {where} has no '{self.key}' entry "
                    f"(has: {', '.join(sorted(source)) or 'nothing'})"
                )
        return prediction[self.key] - target[self.key]


class HamiltonianMSE(_ElementwiseLoss):
    """Mean squared error over (masked) Hamiltonian matrix elements."""

    name: ClassVar[str] = "h_mse"

    def forward(self, prediction, target):
        return masked_mean(self.residual(prediction, target).square(), target.get(MASK_KEY))


class HamiltonianMAE(_ElementwiseLoss):
    """Mean absolute error over (masked) Hamiltonian matrix elements."""

    name: ClassVar[str] = "h_mae"

    def forward(self, prediction, target):
        return masked_mean(self.residual(prediction, target).abs(), target.get(MASK_KEY))
