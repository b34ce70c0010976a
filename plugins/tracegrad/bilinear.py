"""Learnable bilinear contraction f (x) f -> K invariant scalars, via Gram matrices.

Why a Gram matrix rather than ``e3nn.o3.FullyConnectedTensorProduct(irreps, irreps,
f"{K}x0e")``: the tensor product's paths to 0e exist only between two channels of
the same degree l and the same parity, and each path is (up to a constant) the
inner product <f_u^(l), f_v^(l)>. The tensor product therefore computes
``s_k = sum_l sum_{u,v} W^(l)_{k,u,v} <f_u^(l), f_v^(l)>`` and, since the inner
products are symmetric in (u, v), only the symmetric part of ``W`` matters. Taking
the upper triangle of each same-(l, p) Gram matrix and applying one ``nn.Linear``
gives exactly the same function class, with half the weights (plus a bias) and
cheaper arithmetic:

- Gram: sum_l M_l^2 (2l+1) / 2 multiply-adds per item (M_l channels of degree l);
- Linear: P * K with P = sum_l M_l (M_l + 1) / 2 (the e3nn product needs
  sum_l M_l^2 * K weights and builds the full outer products first).

For very wide features (e.g. 128 channels for each l <= 4, P = 41 280) an optional
equivariant channel projection to C channels per (l, p) first makes the bilinear
form low-rank (P = n_groups * C (C + 1) / 2); it is then no longer the full
tensor product, but still learnable and exactly invariant.

All operations (gather, matmul, scaling) are linear or bilinear, so the module
is twice differentiable as required by the gradient inducer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hamkit_plugins.tracegrad.layout import IrrepGroup


class GramContraction(nn.Module):
    """Invariant bilinear features: per-(l, p) channel Gram matrices, then a Linear.

    Args:
        groups: The (degree, parity) groups of the input irreps
            (:func:`hamkit_plugins.tracegrad.layout.irrep_groups`).
        num_scalars: K, the number of output scalars.
        project_channels: If set, first mix each group's channels down to this
            many (learnable, equivariant); None keeps the exact full contraction.
    """

    def __init__(
        self, groups: list[IrrepGroup], num_scalars: int, project_channels: int | None = None
    ) -> None:
        super().__init__()
        self.num_groups = len(groups)
        self.project = project_channels is not None
        num_pairs = 0
        for i, group in enumerate(groups):
            channels = group.multiplicity if project_channels is None else project_channels
            rows, cols = torch.triu_indices(channels, channels)
            self.register_buffer(f"index_{i}", group.index, persistent=False)
            self.register_buffer(f"rows_{i}", rows, persistent=False)
            self.register_buffer(f"cols_{i}", cols, persistent=False)
            if project_channels is not None:
                weight = torch.randn(project_channels, group.multiplicity) / math.sqrt(
                    group.multiplicity
                )
                self.register_parameter(f"projection_{i}", nn.Parameter(weight))
            num_pairs += rows.numel()
        self.num_pairs = num_pairs
        self.linear = nn.Linear(num_pairs, num_scalars)

    def gram_features(self, features: torch.Tensor) -> torch.Tensor:
        """The upper triangles of the per-(l, p) Gram matrices, concatenated.

        Entries are <f_u, f_v> / (2l + 1) (the mean over the 2l+1 components), so
        component-normalized features give entries of order one for every l.

        Args:
            features: Shape (..., irreps.dim).

        Returns:
            Invariants of shape (..., num_pairs).
        """
        pieces = []
        for i in range(self.num_groups):
            index = getattr(self, f"index_{i}")
            block = features[..., index]  # (..., M, 2l+1)
            if self.project:
                block = torch.einsum("cm,...md->...cd", getattr(self, f"projection_{i}"), block)
            gram = block @ block.transpose(-1, -2) / index.shape[1]  # (..., M, M)
            pieces.append(gram[..., getattr(self, f"rows_{i}"), getattr(self, f"cols_{i}")])
        return torch.cat(pieces, dim=-1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Contract.

        Args:
            features: Equivariant features, shape (..., irreps.dim).

        Returns:
            Invariant scalars s, shape (..., num_scalars).
        """
        return self.linear(self.gram_features(features))
