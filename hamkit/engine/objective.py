"""The training objective: the recipe's weighted loss terms."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from hamkit.components import BuildContext, Loss
from hamkit.errors import HamkitError
from hamkit.recipe import ResolvedComponent, ResolvedRecipe


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
            [_weight(term) for term in terms],
            [_build_loss(term, context) for term in terms],
        )

    def forward(
        self, prediction: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss (scalar tensor) and the unweighted value of each term.

        Raises:
            HamkitError: The objective has no terms.
        """
        total: torch.Tensor | None = None
        parts: dict[str, float] = {}
        for name, weight, loss in zip(self.names, self.weights, self.losses):
            value = loss(prediction, target)
            parts[name] = float(value.detach())
            total = weight * value if total is None else total + weight * value
        if total is None:
            raise HamkitError("the objective has no loss terms")
        return total, parts


def _weight(term: ResolvedComponent) -> float:
    """The weight of a loss term (validation gives every term one, 1 by default).

    Raises:
        HamkitError: The term has no weight.
    """
    if term.weight is None:
        raise HamkitError(f"loss '{term.record.name}' has no weight")
    return float(term.weight)


def _build_loss(term: ResolvedComponent, context: BuildContext) -> Loss:
    """Build one loss term.

    Raises:
        HamkitError: Its ``from_config`` built something that is not a
            :class:`~hamkit.components.Loss`.
    """
    loss = term.record.cls.from_config(term.config, context)
    if not isinstance(loss, Loss):
        raise HamkitError(f"loss '{term.record.name}' ({term.record.provider}) built a {type(loss).__name__}, "
                          "not a hamkit.components.Loss")
    return loss
