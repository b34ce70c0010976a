"""SO(3) operations on per-degree features: tensor products, linear maps, a norm gate.

Written directly on per-degree tensors (see :mod:`hamkit_plugins.qhnet.irreps_util`)
rather than with e3nn's generic ``TensorProduct``/``Linear``: those slice one flat weight
tensor per path, whose backward allocates a full-size zero tensor per slice, which made a
default-size QHNet ~100x slower on CPU. Clebsch-Gordan coefficients come from e3nn's
``wigner_3j`` computed in float64, so float64 models stay equivariant to ~1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.nn import ConstantCache
from hamkit_plugins.qhnet.irreps_util import DegreeFeatures


def coupling_paths(lmax1: int, lmax2: int, lmax_out: int) -> list[tuple[int, int, int]]:
    """Every ``(l1, l2, l3)`` with ``|l1 - l2| <= l3 <= min(l1 + l2, lmax_out)``."""
    return [
        (l1, l2, l3)
        for l1 in range(lmax1 + 1)
        for l2 in range(lmax2 + 1)
        for l3 in range(abs(l1 - l2), min(l1 + l2, lmax_out) + 1)
    ]


def _cg(l1: int, l2: int, l3: int) -> torch.Tensor:
    """``sqrt(2 l3 + 1) * wigner_3j(l1, l2, l3)`` in float64, shape (2l1+1, 2l2+1, 2l3+1)."""
    return o3.wigner_3j(l1, l2, l3, dtype=torch.float64) * math.sqrt(2 * l3 + 1)


class SO3TensorProduct(nn.Module):
    """Weighted Clebsch-Gordan tensor product, paths summed per output degree.

    ``out_l3[n, u] = norm_l3 * sum_{paths (l1, l2, l3)} w[n, path, u] * CG(x_l1[n, u], y_l2[n, v])``
    with ``v = u`` (mode ``"uuu"``: both inputs have ``mul`` channels, channel-wise) or
    ``v = 0`` (mode ``"uvu"``: ``y`` has one channel, e.g. spherical harmonics).
    ``CG = sqrt(2 l3 + 1) * wigner_3j(l1, l2, l3)`` and ``norm_l3 = 1/sqrt(#paths into l3)``.

    Evaluation is fused (:meth:`forward`): instead of one small product per path, the paths
    are grouped so that each group is one dense contraction:

    * ``uvu``: per input degree ``l1``, the spherical harmonics are contracted with the
      coefficients of all of ``l1``'s paths at once (``M = y @ C_l1``, no channel axis), then
      one batched product ``x_l1 @ M`` gives every path's output for every channel;
    * ``uuu``: per pair ``(l1, l2)``, the channel-wise outer product ``x_l1 (x) y_l2`` is formed
      once and multiplied by the coefficients of all paths ``(l1, l2, *)``;
    * each path's output (a view of its group's) times its weights, summed per output degree
      (measured faster than stacking the paths and reducing: no copies).

    Measured against the per-path loop at 128 channels, lmax 4 (60 pairs, float32, one CPU
    thread, forward + backward): the pair product ~3x and the edge product ~4x faster. The
    per-path loop is kept as :meth:`forward_by_path`, the readable definition the fused form
    is tested against. With ``compiled`` set, :meth:`forward` runs through ``torch.compile``.

    Args:
        lmax1: Highest degree of ``x``.
        lmax2: Highest degree of ``y``.
        lmax_out: Highest output degree.
        mul: Channels of ``x`` (and of ``y`` in mode ``"uuu"``) and of the output.
        mode: ``"uuu"`` or ``"uvu"``.
        internal_weights: Learn one weight per (path, channel) instead of taking per-item
            weights in ``forward``.
    """

    def __init__(
        self, lmax1: int, lmax2: int, lmax_out: int, mul: int, mode: str,
        internal_weights: bool = False,
    ) -> None:
        super().__init__()
        if mode not in ("uuu", "uvu"):
            raise ValueError(f"mode must be 'uuu' or 'uvu', got {mode!r}")
        self.mode = mode
        self.mul = mul
        self.lmax2 = lmax2
        self.lmax_out = lmax_out
        self.paths = coupling_paths(lmax1, lmax2, lmax_out)
        counts = [sum(1 for *_, l3 in self.paths if l3 == l) for l in range(lmax_out + 1)]
        self.norms = [1.0 / math.sqrt(c) if c else 0.0 for c in counts]
        self.cg = ConstantCache([
            _cg(l1, l2, l3).reshape((2 * l1 + 1) * (2 * l2 + 1), 2 * l3 + 1) for l1, l2, l3 in self.paths
        ])
        self.weight_numel = len(self.paths) * mul
        self.weight = nn.Parameter(torch.randn(len(self.paths), mul)) if internal_weights else None
        self.compiled = False
        self._build_groups()

    def _build_groups(self) -> None:
        """Group the paths for the fused contraction.

        Sets ``groups`` (the keys: ``l1`` for ``uvu``, ``(l1, l2)`` for ``uuu``; each group's
        paths are consecutive in ``paths``), ``group_sizes`` (each group's output widths, one
        per path, ``2 l3 + 1``) and ``group_cg`` (one coefficient matrix per group, norms
        folded in).
        """
        key = (lambda path: path[0]) if self.mode == "uvu" else (lambda path: path[:2])
        self.groups = sorted({key(path) for path in self.paths})
        y_dim = (self.lmax2 + 1) ** 2
        matrices, self.group_sizes = [], []
        for group in self.groups:
            blocks = []
            for l1, l2, l3 in (path for path in self.paths if key(path) == group):
                cg = _cg(l1, l2, l3) * self.norms[l3]
                if self.mode == "uvu":  # rows: every y component; columns: (i of l1, path output k)
                    block = torch.zeros(y_dim, 2 * l1 + 1, 2 * l3 + 1, dtype=torch.float64)
                    block[l2 * l2:(l2 + 1) ** 2] = cg.permute(1, 0, 2)
                    blocks.append(block)
                else:
                    blocks.append(cg.reshape(-1, 2 * l3 + 1))
            self.group_sizes.append([block.shape[-1] for block in blocks])
            matrices.append(torch.cat(blocks, dim=-1).reshape(blocks[0].shape[0], -1))
        self.group_cg = ConstantCache(matrices)

    def _path_weights(self, n: int, weight: torch.Tensor | None) -> torch.Tensor:
        """Weights as (n or 1, n_paths, mul)."""
        if self.weight is not None:
            return self.weight[None]
        if weight is None:
            raise ValueError("this tensor product takes per-item weights")
        return weight.reshape(n, len(self.paths), self.mul)

    def _path_outputs(self, x: DegreeFeatures, y: DegreeFeatures) -> list[torch.Tensor]:
        """Every path's unweighted output, ``[(n, mul, 2 l3 + 1)]`` in ``paths`` order."""
        n = x[0].shape[0]
        outputs = []
        if self.mode == "uvu":
            flat_y = torch.cat([f[:, 0] for f in y], dim=-1)  # (n, (lmax2 + 1)^2)
            for l1, matrix in zip(self.groups, self.group_cg.like(x[0])):
                outputs.append(torch.bmm(x[l1], (flat_y @ matrix).reshape(n, 2 * l1 + 1, -1)))
        else:
            for (l1, l2), matrix in zip(self.groups, self.group_cg.like(x[0])):
                outer = (x[l1][:, :, :, None] * y[l2][:, :, None, :]).reshape(n * self.mul, -1)
                outputs.append((outer @ matrix).reshape(n, self.mul, -1))
        return [
            piece for output, sizes in zip(outputs, self.group_sizes)
            for piece in torch.split(output, sizes, dim=-1)
        ]

    def forward(
        self, x: DegreeFeatures, y: DegreeFeatures, weight: torch.Tensor | None = None
    ) -> DegreeFeatures:
        """Couple ``x`` and ``y``.

        Args:
            x: ``[(n, mul, 2l + 1)]`` for l = 0..lmax1.
            y: ``[(n, mul or 1, 2l + 1)]`` for l = 0..lmax2.
            weight: (n, weight_numel) per-item weights, or None with internal weights.

        Returns:
            ``[(n, mul, 2l + 1)]`` for l = 0..lmax_out.
        """
        if self.compiled:
            return _compiled_fused(self, x, y, weight)
        return self._fused(x, y, weight)

    def _fused(
        self, x: DegreeFeatures, y: DegreeFeatures, weight: torch.Tensor | None = None
    ) -> DegreeFeatures:
        """The fused evaluation (see the class docstring); arguments as :meth:`forward`."""
        n = x[0].shape[0]
        weights = self._path_weights(n, weight)[..., None].unbind(1)  # n_paths x (n or 1, mul, 1)
        out: list[torch.Tensor | None] = [None] * (self.lmax_out + 1)
        for (*_, l3), output, path_weight in zip(self.paths, self._path_outputs(x, y), weights):
            term = output * path_weight
            previous = out[l3]
            out[l3] = term if previous is None else previous + term
        return [o if o is not None else x[0].new_zeros(n, self.mul, 2 * l + 1) for l, o in enumerate(out)]

    def forward_by_path(
        self, x: DegreeFeatures, y: DegreeFeatures, weight: torch.Tensor | None = None
    ) -> DegreeFeatures:
        """Same result as :meth:`forward`, one path at a time (the definition, for checks)."""
        n = x[0].shape[0]
        weights = self._path_weights(n, weight)
        out: list[torch.Tensor | None] = [None] * (self.lmax_out + 1)
        coefficients = self.cg.like(x[0])
        for index, (l1, l2, l3) in enumerate(self.paths):
            cg = coefficients[index].reshape(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)
            b = y[l2].expand(n, self.mul, 2 * l2 + 1)
            term = torch.einsum("nui,nuj,ijk->nuk", x[l1], b, cg) * weights[:, index, :, None]
            previous = out[l3]
            out[l3] = term if previous is None else previous + term
        return [
            (o * norm) if o is not None else x[0].new_zeros(n, self.mul, 2 * l + 1)
            for l, (o, norm) in enumerate(zip(out, self.norms))
        ]


def _fused_of(tp: SO3TensorProduct, x: DegreeFeatures, y: DegreeFeatures,
              weight: torch.Tensor | None) -> DegreeFeatures:
    return tp._fused(x, y, weight)


_compiled_fused = torch.compile(_fused_of, dynamic=True)
"""``tp._fused`` through ``torch.compile`` (inductor; compiled on first use, per tensor-product
shape, for any number of items). A module-level function taking the module as an argument,
so that copies of a model (the EMA) run with their own weights."""


COMPILES_PER_PRODUCT = 4
"""Compiled variants budgeted per tensor-product module: the model's own, its EMA copy's (dynamo
guards on the module object, so every copy is compiled anew), and room for both in eval mode."""


def allow_compiles_per_product(count: int) -> None:
    """Raise dynamo's per-function recompile limit so ``count`` tensor products all stay compiled.

    Every tensor-product module passed to :data:`_compiled_fused` is a guard set of its own;
    past ``torch._dynamo.config.recompile_limit`` (8 by default) dynamo silently runs the rest
    eagerly (measured: the EMA copy's test evaluation of the reference-size model hit it). The
    limit is only ever raised.

    Args:
        count: Tensor-product modules of one model.
    """
    import torch._dynamo.config as dynamo_config

    wanted = COMPILES_PER_PRODUCT * count
    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, wanted)
    dynamo_config.accumulated_recompile_limit = max(dynamo_config.accumulated_recompile_limit, 2 * wanted)


class DegreeLinear(nn.Module):
    """Channel mixing within each degree (equivariant linear map), optional bias on degree 0.

    ``out_l = x_l^T W_l / sqrt(mul_in_l)``; ``W_l`` of shape (mul_in_l, mul_out).

    Args:
        muls_in: Input channels per degree, l = 0, 1, ...
        mul_out: Output channels (every degree).
        bias: Add a learnable bias to the degree-0 output.
    """

    def __init__(self, muls_in: Sequence[int], mul_out: int, bias: bool = False) -> None:
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(torch.randn(m, mul_out)) for m in muls_in])
        self.scales = [1.0 / math.sqrt(m) for m in muls_in]
        self.bias = nn.Parameter(torch.zeros(mul_out)) if bias else None

    def forward(self, x: DegreeFeatures) -> DegreeFeatures:
        """``[(n, mul_in_l, 2l + 1)]`` -> ``[(n, mul_out, 2l + 1)]``."""
        out = [
            torch.einsum("nui,uv->nvi", features, weight) * scale
            for features, weight, scale in zip(x, self.weights, self.scales)
        ]
        if self.bias is not None:
            out[0] = out[0] + self.bias[None, :, None]
        return out


def concat_channels(*features: DegreeFeatures) -> DegreeFeatures:
    """Stack several per-degree features along the channel axis, degree by degree."""
    return [torch.cat(parts, dim=1) for parts in zip(*features)]


class NormGate(nn.Module):
    """Scalars and channel norms -> MLP -> new scalars and per-channel sigmoid gates.

    The invariants are the degree-0 channels and the norm of every channel of degree > 0;
    an MLP maps them to new degree-0 channels and to one gate per channel of degree > 0,
    which multiplies that channel. Equivariant because the gates are invariant.

    Args:
        mul: Channels per degree.
        lmax: Highest degree.
        hidden: MLP width.
    """

    def __init__(self, mul: int, lmax: int, hidden: int) -> None:
        super().__init__()
        self.mul = mul
        n = mul * (lmax + 1)
        self.mlp = nn.Sequential(nn.Linear(n, hidden), nn.SiLU(), nn.Linear(hidden, n))

    def forward(self, x: DegreeFeatures) -> DegreeFeatures:
        """``[(n, mul, 2l + 1)]`` -> same shapes."""
        invariants = [x[0][:, :, 0]] + [(f.square().sum(-1) + 1e-12).sqrt() for f in x[1:]]
        out = torch.split(self.mlp(torch.cat(invariants, dim=-1)), self.mul, dim=-1)
        return [out[0][:, :, None]] + [
            f * torch.sigmoid(gate)[:, :, None] for f, gate in zip(x[1:], out[1:])
        ]
