"""Equivariant operations on per-entry irreps features (O(3) with parity, or SO(3) all-even).

Written per irreps entry on plain tensors rather than with e3nn's generic
``TensorProduct``/``Linear``: those slice one flat weight tensor per path, and the backward
of each slice allocates a full-size zero tensor, which is very slow on CPU. Clebsch-Gordan
tables are e3nn's ``wigner_3j`` in float64 (kept in a :class:`~hamkit.nn.ConstantCache`), so
float64 models are equivariant to ~1e-15.

Features are lists aligned with an :class:`~hamkit_plugins.deeph_e3.irreps.IrrepsSpec`,
channel last (entry ``k``: (n, 2 l_k + 1, mul_k)), so channel mixing is ``x @ W``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.nn import ConstantCache
from hamkit_plugins.deeph_e3.irreps import IrrepsFeatures, IrrepsSpec, concat_specs


def _zeros(like: torch.Tensor, n: int, mul: int, l: int) -> torch.Tensor:
    return like.new_zeros(n, 2 * l + 1, mul)


class IrrepsLinear(nn.Module):
    """Channel mixing within each irrep type: ``out_k = x_k^T W_k / sqrt(mul_in_k)``.

    Output entries whose type is absent from the input are zero. ``bias`` adds a learnable
    bias to the ``0e`` output.
    """

    def __init__(self, spec_in: IrrepsSpec, spec_out: IrrepsSpec, bias: bool = False) -> None:
        super().__init__()
        self.spec_in, self.spec_out = spec_in, spec_out
        index_in = {key: k for k, key in enumerate(spec_in.keys)}
        self.sources = [index_in.get(key) for key in spec_out.keys]
        self.weights = nn.ParameterList(
            [
                nn.Parameter(torch.randn(spec_in.muls[source], mul))
                for source, mul in zip(self.sources, spec_out.muls) if source is not None
            ]
        )
        self.scales = [1.0 / math.sqrt(spec_in.muls[s]) for s in self.sources if s is not None]
        n_scalars = spec_out.mul_of((0, 1))
        self.bias = nn.Parameter(torch.zeros(n_scalars)) if bias and n_scalars else None
        self.bias_entry = spec_out.keys.index((0, 1)) if self.bias is not None else None

    def forward(self, x: IrrepsFeatures) -> IrrepsFeatures:
        """Features of ``spec_in`` -> features of ``spec_out``."""
        n = x[0].shape[0]
        out, weight_index = [], 0
        for k, (source, (mul, l, _)) in enumerate(zip(self.sources, self.spec_out.entries)):
            if source is None:
                out.append(_zeros(x[0], n, mul, l))
                continue
            weight, scale = self.weights[weight_index], self.scales[weight_index]
            weight_index += 1
            y = torch.matmul(x[source], weight * scale)
            if self.bias is not None and k == self.bias_entry:
                y = y + self.bias
            out.append(y)
        return out


@dataclass(frozen=True)
class TypeGroups:
    """Items sorted by type, for per-type linear maps without per-item weight copies.

    Attributes:
        types: Type of each item, (n,), long.
        order: Stable sort of the items by type, (n,).
        inverse: Inverse permutation of ``order``.
        segments: ``(type, start, end)`` of each present type in sorted order.
    """

    types: torch.Tensor
    order: torch.Tensor
    inverse: torch.Tensor
    segments: tuple[tuple[int, int, int], ...]

    @property
    def sizes(self) -> list[int]:
        """Number of items of each present type, in sorted order."""
        return [end - start for _, start, end in self.segments]

    @classmethod
    def build(cls, types: torch.Tensor) -> TypeGroups:
        """Group items by their type (one host synchronization, for the segment bounds)."""
        types = types.long()
        order = torch.sort(types, stable=True).indices
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.shape[0], device=order.device)
        present, counts = torch.unique_consecutive(types[order], return_counts=True)
        segments, start = [], 0
        for t, count in zip(present.tolist(), counts.tolist()):
            segments.append((t, start, start + count))
            start += count
        return cls(types, order, inverse, tuple(segments))


class TypedLinear(nn.Module):
    """A separate :class:`IrrepsLinear` per item type (element or ordered element pair).

    Equals e3nn's ``FullyConnectedTensorProduct(x, one_hot(type))``, DeepH-E3's
    self-connection. Weights ``W[type]_k`` of shape (mul_in_k, mul_out_k), normalized by
    ``1/sqrt(mul_in_k)``; ``0e`` outputs get a per-type bias.
    """

    def __init__(self, spec_in: IrrepsSpec, spec_out: IrrepsSpec, n_types: int) -> None:
        super().__init__()
        self.spec_in, self.spec_out = spec_in, spec_out
        index_in = {key: k for k, key in enumerate(spec_in.keys)}
        self.sources = [index_in.get(key) for key in spec_out.keys]
        self.weights = nn.ParameterList(
            [
                nn.Parameter(torch.randn(n_types, spec_in.muls[source], mul))
                for source, mul in zip(self.sources, spec_out.muls) if source is not None
            ]
        )
        self.scales = [1.0 / math.sqrt(spec_in.muls[s]) for s in self.sources if s is not None]
        mul_scalar = spec_out.mul_of((0, 1))
        self.bias = nn.Parameter(torch.zeros(n_types, mul_scalar)) if mul_scalar else None
        self.bias_entry = spec_out.keys.index((0, 1)) if mul_scalar else None

    def forward(self, x: IrrepsFeatures, groups: TypeGroups) -> IrrepsFeatures:
        """Features of ``spec_in`` and the items' types -> features of ``spec_out``."""
        n = x[0].shape[0]
        single = len(groups.segments) == 1
        out, weight_index = [], 0
        for k, (source, (mul, l, _)) in enumerate(zip(self.sources, self.spec_out.entries)):
            if source is None or not groups.segments:
                y = _zeros(x[0], n, mul, l)
            else:
                weight, scale = self.weights[weight_index], self.scales[weight_index]
                weight_index += 1
                weight = weight * scale
                if single:
                    y = torch.matmul(x[source], weight[groups.segments[0][0]])
                else:
                    ordered = torch.split(x[source].index_select(0, groups.order), groups.sizes)
                    y = torch.cat(
                        [torch.matmul(part, weight[t]) for part, (t, _, _) in zip(ordered, groups.segments)]
                    ).index_select(0, groups.inverse)
            if self.bias is not None and k == self.bias_entry:
                y = y + self.bias.index_select(0, groups.types)[:, None, :]
            out.append(y)
        return out


class ConvTensorProduct(nn.Module):
    """Per-item weighted tensor product with spherical harmonics, then a linear map per irrep type.

    For every input entry ``(mul, l1, p1)``, harmonic degree ``l2`` and output type
    ``(l3, p3)`` of ``spec_out`` with ``|l1 - l2| <= l3 <= l1 + l2`` and ``p3 = p1 p2``
    (``p2 = (-1)^l2`` with physical parity, ``+1`` for SO(3)) there is one path:
    ``t[n, u] = w[n, path, u] * CG(x_l1[n, u], Y_l2[n])`` (e3nn's ``uvu`` mode,
    ``CG = sqrt(2 l3 + 1) wigner_3j``). The paths' channels of each output type are stacked
    and mixed to ``mul_out`` channels by a learnable ``(fan_in, mul_out)`` matrix divided by
    ``sqrt(fan_in)``: e3nn's ``TensorProduct`` followed by ``Linear``.

    Implementation: per input entry one matrix product ``sh @ table`` gives the coupling
    ``(n, K, 2 l1 + 1)`` of all its paths (components ordered per output type as
    ``(m3, path)``), one batched product with ``x`` gives every path output ``(n, K, mul)``;
    per output type a view ``(n, 2 l3 + 1, paths, mul)`` is scaled by the weights and
    flattened to channels without copies.

    Args:
        spec_in: Irreps of ``x``.
        sh_lmax: Highest harmonic degree.
        physical_parity: Harmonics have parity ``(-1)^l`` (else even).
        spec_out: Output irreps.
    """

    def __init__(
        self, spec_in: IrrepsSpec, sh_lmax: int, physical_parity: bool, spec_out: IrrepsSpec
    ) -> None:
        super().__init__()
        self.spec_in, self.spec_out, self.sh_lmax = spec_in, spec_out, sh_lmax
        sh_dim = (sh_lmax + 1) ** 2
        fan_in = [0] * len(spec_out.entries)
        # per input entry: (target t, component start, component end, path start, path end)
        self.groups: list[list[tuple[int, int, int, int, int]]] = []
        self.n_paths: list[int] = []
        tables = []
        for mul, l1, p1 in spec_in.entries:
            groups, blocks, k0, n_paths = [], [], 0, 0
            for t, (_, l3, p3) in enumerate(spec_out.entries):
                degrees = [
                    l2 for l2 in range(sh_lmax + 1)
                    if abs(l1 - l2) <= l3 <= l1 + l2 and p1 * ((-1) ** l2 if physical_parity else 1) == p3
                ]
                if not degrees:
                    continue
                size = (2 * l3 + 1) * len(degrees)
                block = torch.zeros(sh_dim, 2 * l3 + 1, len(degrees), 2 * l1 + 1, dtype=torch.float64)
                for path, l2 in enumerate(degrees):
                    cg = o3.wigner_3j(l1, l2, l3, dtype=torch.float64) * math.sqrt(2 * l3 + 1)  # (i, j, k)
                    block[l2 * l2 : (l2 + 1) ** 2, :, path, :] = cg.permute(1, 2, 0)
                blocks.append(block.reshape(sh_dim, size * (2 * l1 + 1)))
                groups.append((t, k0, k0 + size, n_paths, n_paths + len(degrees)))
                fan_in[t] += mul * len(degrees)
                k0 += size
                n_paths += len(degrees)
            self.groups.append(groups)
            self.n_paths.append(n_paths)
            tables.append(torch.cat(blocks, dim=1) if blocks else torch.zeros(sh_dim, 0, dtype=torch.float64))
        self.tables = ConstantCache(tables)
        self.weight_sizes = [mul * n for mul, n in zip(spec_in.muls, self.n_paths)]
        self.weight_numel = sum(self.weight_sizes)
        self.fan_in = fan_in
        self.linear = nn.ParameterList(
            [nn.Parameter(torch.randn(f, mul)) for f, mul in zip(fan_in, spec_out.muls) if f]
        )
        self.scales = [1.0 / math.sqrt(f) for f in fan_in if f]

    def forward(self, x: IrrepsFeatures, sh: torch.Tensor, weight: torch.Tensor) -> IrrepsFeatures:
        """Couple.

        Args:
            x: Features of ``spec_in`` (channel last), n items.
            sh: (n, (sh_lmax + 1)^2) spherical harmonics (e3nn layout, frame and normalization).
            weight: (n, weight_numel) per-item path weights (per input entry: (paths, mul)).

        Returns:
            Features of ``spec_out`` (channel last).
        """
        n = sh.shape[0]
        stacks: list[list[torch.Tensor]] = [[] for _ in self.spec_out.entries]
        tables = self.tables.like(sh)
        weights = torch.split(weight, self.weight_sizes, dim=1)
        for k, ((mul, l1, _), groups) in enumerate(zip(self.spec_in.entries, self.groups)):
            if not groups:
                continue
            size = groups[-1][2]  # K: components of all paths of this entry
            coupling = torch.matmul(sh, tables[k]).reshape(n, size, 2 * l1 + 1)
            out = torch.bmm(coupling, x[k])  # (n, K, mul)
            w = weights[k].reshape(n, self.n_paths[k], mul)
            # torch.split, not slicing: a slice's backward allocates a zero tensor of the full size
            outs = torch.split(out, [k1 - k0 for _, k0, k1, _, _ in groups], dim=1)
            ws = torch.split(w, [q1 - q0 for _, _, _, q0, q1 in groups], dim=1)
            for (t, _, _, q0, q1), piece, w_piece in zip(groups, outs, ws):
                l3 = self.spec_out.entries[t][1]
                piece = piece.reshape(n, 2 * l3 + 1, q1 - q0, mul) * w_piece[:, None]
                stacks[t].append(piece.reshape(n, 2 * l3 + 1, (q1 - q0) * mul))
        result, linear_index = [], 0
        for t, (mul, l, _) in enumerate(self.spec_out.entries):
            if not stacks[t]:
                result.append(_zeros(sh, n, mul, l))
                continue
            matrix, scale = self.linear[linear_index], self.scales[linear_index]
            linear_index += 1
            stacked = torch.cat(stacks[t], dim=2) if len(stacks[t]) > 1 else stacks[t][0]
            result.append(torch.matmul(stacked, matrix * scale))
        return result


class Gate(nn.Module):
    """e3nn-style gate: ``0e`` scalars -> SiLU, ``0o`` -> tanh, other channels x sigmoid(gate).

    Its input has the irreps of :attr:`spec_in`: ``spec_out`` with one extra ``0e`` gate
    scalar per channel of degree >= 1, placed after the ``0e`` scalars. Gates are even
    scalars, so parity is preserved.
    """

    def __init__(self, spec_out: IrrepsSpec) -> None:
        super().__init__()
        if spec_out.mul_of((0, 1)) == 0:
            raise ValueError(f"a gate needs 0e scalars in '{spec_out}'")
        self.spec_out = spec_out
        self.gate_sizes = [mul for mul, l, _ in spec_out.entries if l > 0]
        self.n_gates = sum(self.gate_sizes)
        gates = IrrepsSpec(((self.n_gates, 0, 1),))
        self.spec_in = concat_specs(spec_out, gates) if self.n_gates else spec_out
        self.scalar_entry = spec_out.keys.index((0, 1))
        self.n_scalars = spec_out.mul_of((0, 1))

    def forward(self, x: IrrepsFeatures) -> IrrepsFeatures:
        """Features of ``spec_in`` -> features of ``spec_out``."""
        scalars, gate_scalars = torch.split(x[self.scalar_entry], [self.n_scalars, self.n_gates], dim=2)
        gates = iter(torch.split(torch.sigmoid(gate_scalars), self.gate_sizes, dim=2))  # (n, 1, mul) each
        out = []
        for k, (_, l, _) in enumerate(self.spec_out.entries):
            if k == self.scalar_entry:
                out.append(nn.functional.silu(scalars))
            elif l == 0:
                out.append(torch.tanh(x[k]))
            else:
                out.append(x[k] * next(gates))
        return out


class EquivariantLayerNorm(nn.Module):
    """Per-item layer norm, entry by entry.

    ``0e`` entries are centred over their channels; every entry is divided by the root
    mean square of its components (over channels and m) plus ``eps``, then scaled per
    channel (and shifted, for ``0e``). Invariant statistics only, so it is equivariant.
    """

    def __init__(self, spec: IrrepsSpec, eps: float = 1e-5) -> None:
        super().__init__()
        self.spec, self.eps = spec, eps
        self.scales = nn.ParameterList([nn.Parameter(torch.ones(mul)) for mul in spec.muls])
        self.scalar_entry = spec.keys.index((0, 1)) if (0, 1) in spec.keys else None
        self.bias = nn.Parameter(torch.zeros(spec.mul_of((0, 1)))) if self.scalar_entry is not None else None

    def forward(self, x: IrrepsFeatures) -> IrrepsFeatures:
        """Normalize features of ``spec``."""
        out = []
        for k, (features, scale) in enumerate(zip(x, self.scales)):
            if k == self.scalar_entry:
                features = features - features.mean(dim=2, keepdim=True)
            variance = features.square().mean(dim=(1, 2), keepdim=True)
            features = features * torch.rsqrt(variance + self.eps) * scale
            if k == self.scalar_entry:
                features = features + self.bias
            out.append(features)
        return out
