"""How an induced equivariant update is added to the features it came from.

METHOD.md section 4: a plain residual f + v started at |v| ~ 2x |f| in an
independent test and stalled training, so both rules here start the induced
part small compared with f.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

CombineRule = Literal["residual", "norm_scaled"]


class ResidualScale(nn.Module):
    """A scalar multiplier, learnable or fixed.

    Args:
        init: Initial value.
        learnable: Train it (an ``nn.Parameter``) or keep it fixed (a buffer).
    """

    def __init__(self, init: float, learnable: bool) -> None:
        super().__init__()
        value = torch.tensor(float(init))
        if learnable:
            self.value = nn.Parameter(value)
        else:
            self.register_buffer("value", value)

    def forward(self, update: torch.Tensor) -> torch.Tensor:
        """Scale an update tensor of any shape."""
        return self.value.to(update.dtype) * update


class NormScaled(nn.Module):
    """scale * (|f| / (|v| + eps)).detach() * v, norms per irreps entry and item.

    A "block" is one ``mul x ir`` entry of the irreps (all its channels together),
    so the induced part has exactly ``scale`` times the norm of f in every block,
    whatever the magnitude of v, while relative channel magnitudes inside a block
    stay learnable. The ratio is invariant, so the rule is equivariant.

    Args:
        membership: One-hot (irreps.dim, n_entries) map from components to entries
            (:func:`hamkit_plugins.tracegrad.layout.entry_membership`).
        scale: Fixed multiplier (NextHAM: 0.2).
        eps: Added to |v| (NextHAM: 1e-5).
    """

    membership: torch.Tensor

    def __init__(self, membership: torch.Tensor, scale: float, eps: float) -> None:
        super().__init__()
        self.register_buffer("membership", membership, persistent=False)
        self.scale = scale
        self.eps = eps

    def forward(self, features: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        """The scaled update.

        Args:
            features: f, shape (n_items, irreps.dim).
            update: v, same shape.

        Returns:
            The induced part to add to f, same shape.
        """
        membership = self.membership.to(features.dtype)
        with torch.no_grad():
            norm_f = (features.square() @ membership).sqrt()  # (n, n_entries)
            norm_v = (update.square() @ membership).sqrt()
            ratio = (norm_f / (norm_v + self.eps)) @ membership.T  # (n, dim)
        return self.scale * ratio * update
