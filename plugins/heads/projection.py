"""Equivariant linear projection of features onto a block's irreps, fused with the CG expansion."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.nn import ConstantCache
from hamkit_plugins.heads.expansion import PairExpansion


class BlockProjection(nn.Module):
    """Features (n, irreps_in.dim) -> flattened blocks (n, n_row * n_col).

    For every irrep group ``count x (L, p)`` of the expansion table: a linear map of all
    input channels of irrep ``(L, p)`` to ``count`` channels (weights ~ N(0, 1), scaled by
    1/sqrt(fan-in): the normalization of ``e3nn.o3.Linear``), then the group's slice of the
    Clebsch-Gordan expansion matrix. A bias on ``(0, +1)`` outputs is optional (on-site
    blocks). Written by hand instead of with ``o3.Linear`` because the latter compiles
    TorchScript per instance (~60 ms; a head for 10 elements has 110 maps).

    Args:
        irreps_in: Input irreps (parities already relabelled when the head ignores parity).
        table: The element pair's expansion.
        bias: Learnable bias on the ``0e`` outputs.
    """

    def __init__(self, irreps_in: o3.Irreps, table: PairExpansion, bias: bool) -> None:
        super().__init__()
        self.entry_sizes = [mul * ir.dim for mul, ir in irreps_in]
        self.entry_shapes = [(mul, ir.dim) for mul, ir in irreps_in]
        self.block_size = table.matrix.shape[1]
        self.weights = nn.ParameterList()
        self.groups: list[tuple[list[int], float, int]] = []  # (input entries, scale, output width)
        self.bias: nn.Parameter | None = None
        start = 0
        matrices = []
        for group, (count, (big_l, parity)) in enumerate(table.irreps):
            width = count * (2 * big_l + 1)
            entries = [k for k, (_, ir) in enumerate(irreps_in) if (ir.l, ir.p) == (big_l, parity)]
            fan_in = sum(irreps_in[k].mul for k in entries)
            for k in entries:
                self.weights.append(nn.Parameter(torch.randn(irreps_in[k].mul, count)))
            self.groups.append((entries, 1.0 / math.sqrt(fan_in) if fan_in else 0.0, width))
            matrices.append(torch.from_numpy(np.ascontiguousarray(table.matrix[start : start + width])))
            if bias and (big_l, parity) == (0, 1):
                self.bias = nn.Parameter(torch.zeros(count))
                self.bias_group = group
            start += width
        self.expansion = ConstantCache(matrices)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(n, irreps_in.dim) -> (n, block_size)."""
        n = features.shape[0]
        pieces = [
            piece.reshape(n, *shape)
            for piece, shape in zip(torch.split(features, self.entry_sizes, dim=-1), self.entry_shapes)
        ]
        out = features.new_zeros(n, self.block_size)
        weight_index = 0
        expansions = self.expansion.like(features)
        for group, (entries, scale, _) in enumerate(self.groups):
            expansion = expansions[group]
            projected = None
            for k in entries:
                term = torch.einsum("nui,uc->nci", pieces[k], self.weights[weight_index])
                projected = term if projected is None else projected + term
                weight_index += 1
            if projected is not None:
                out = out + (projected * scale).reshape(n, -1) @ expansion
            if self.bias is not None and group == self.bias_group:
                out = out + self.bias @ expansion  # L = 0: one component per channel
        return out
