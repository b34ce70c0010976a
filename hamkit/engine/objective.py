"""The training objective: the recipe's weighted loss terms."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from hamkit.components import BuildContext
from hamkit.recipe import ResolvedRecipe


class Objective(nn.Module):
    """Weighted sum of loss components; also reports each term."""

    def __init__(self, names: list[str], weights: list[float], losses: list[nn.Module]) -> None:
        super().__init__()
        self.names = names
        self.weights = weights
        self.losses = nn.ModuleList(losses)

    @classmethod
    def from_recipe(cls, recipe: ResolvedRecipe, context: BuildContext) -> "Objective":
        """Build every loss term of the recipe."""
        terms = recipe.losses
        return cls(
            [f"{i}:{term.record.name}" for i, term in enumerate(terms)],
            [float(term.weight) for term in terms],
            [term.record.cls.from_config(term.config, context) for term in terms],
        )

    def forward(
        self, prediction: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss (scalar tensor) and the unweighted value of each term."""
        total = None
        parts: dict[str, float] = {}
        for name, weight, loss in zip(self.names, self.weights, self.losses):
            value = loss(prediction, target)
            parts[name] = float(value.detach())
            total = weight * value if total is None else total + weight * value
        return total, parts
