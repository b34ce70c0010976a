"""Contract of the ``loss`` kind: one weighted term of the training objective."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from hamkit.components.base import Component


class Loss(nn.Module, Component):
    """A scalar training objective term; the recipe gives each term a weight."""

    kind: ClassVar[str] = "loss"

    def forward(
        self, prediction: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:  # pragma: no cover - abstract
        """Compute the term.

        Args:
            prediction: Model outputs, e.g. ``"hamiltonian"`` (n_elements,).
            target: Labels in the same layout, optionally ``"hamiltonian_mask"``
                (n_elements,) of 0/1 marking elements that count.

        Returns:
            A scalar tensor.
        """
        raise NotImplementedError
