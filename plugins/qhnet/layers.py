"""QHNet's building blocks: message passing, self (diagonal) and pair (off-diagonal) layers.

All layers work on node features with irreps ``hidden x (0e + ... + lmax e)`` (flat e3nn
layout between blocks, per-degree lists inside; see :mod:`hamkit_plugins.qhnet.irreps_util`)
and on the per-forward geometry of :class:`QHNetGeometry`. A :class:`QHNetBlock` bundles one
message-passing layer with, from ``pair_start_layer`` onwards, one self layer and one pair
layer, and maps a :class:`QHNetState` to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from hamkit_plugins.qhnet.irreps_util import DegreeFeatures, join_degrees, split_degrees
from hamkit_plugins.qhnet.so3 import DegreeLinear, NormGate, SO3TensorProduct, concat_channels


@dataclass(frozen=True)
class QHNetGeometry:
    """Per-forward geometric inputs, shared by every block.

    Attributes:
        species: Embedding row of each atom, shape (n_atoms,), long.
        message_index: (receiver i, sender j) of each message edge, shape (2, n_messages):
            the graph's pairs closer than ``cutoff``.
        message_sh: Spherical harmonics of ``pos_j - pos_i`` in e3nn's frame,
            ``[(n_messages, 1, 2l + 1)]`` for l = 0..sh_lmax.
        message_radial: Radial embedding, (n_messages, num_radial).
        message_envelope: Smooth cutoff of each message edge, (n_messages,).
        pair_index: The graph's ``pair_index`` (i, j), shape (2, n_pairs).
        pair_sh: Spherical harmonics of ``pos_j - pos_i``, ``[(n_pairs, 1, 2l + 1)]``.
        pair_radial: Radial embedding on the pair range, (n_pairs, num_radial).
        pair_envelope: Smooth cutoff at ``pair_cutoff`` (ones when it is None), (n_pairs,);
            multiplies every pair-feature increment.
    """

    species: torch.Tensor
    message_index: torch.Tensor
    message_sh: DegreeFeatures
    message_radial: torch.Tensor
    message_envelope: torch.Tensor
    pair_index: torch.Tensor
    pair_sh: DegreeFeatures
    pair_radial: torch.Tensor
    pair_envelope: torch.Tensor


@dataclass
class QHNetState:
    """Features between blocks (mutable on purpose: see ``QHNetFeaturizer.forward_blocks``).

    Attributes:
        geometry: The per-forward geometry.
        node: Message-passing atom features, shape (n_atoms, node_irreps.dim).
        self_features: Accumulated on-site (diagonal) features, (n_atoms, node_irreps.dim);
            zero before ``pair_start_layer``.
        pair_features: Accumulated pair (off-diagonal) features, (n_pairs, pair_irreps.dim);
            zero before ``pair_start_layer``.
        layer: Number of blocks applied so far.
    """

    geometry: QHNetGeometry
    node: torch.Tensor
    self_features: torch.Tensor
    pair_features: torch.Tensor
    layer: int = 0


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two-layer SiLU perceptron ``n_in -> hidden -> n_out``."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))


class ConvLayer(nn.Module):
    """Message passing: ``x_i <- W x_i + gate(Linear(sum_j TP(x_j, Y(r_ij); w_ij) / avg))``.

    The ``uvu`` tensor product of the sender's features with the edge's spherical harmonics
    has per-edge weights ``w_ij`` from an MLP of the radial embedding and both atoms' scalar
    channels, multiplied by the smooth cutoff so that messages vanish at ``cutoff``.

    Args:
        mul: Channels per degree of the node features.
        lmax: Highest degree of the node features.
        sh_lmax: Highest degree of the spherical harmonics.
        num_radial: Radial embedding size.
        radial_hidden: MLP width.
        avg_neighbors: The summed messages are divided by this constant.
        gate_hidden: Width of the norm gate's MLP (None: ``radial_hidden``).
    """

    def __init__(
        self, mul: int, lmax: int, sh_lmax: int, num_radial: int, radial_hidden: int,
        avg_neighbors: float, gate_hidden: int | None = None,
    ) -> None:
        super().__init__()
        self.mul, self.lmax = mul, lmax
        self.tp = SO3TensorProduct(lmax, sh_lmax, lmax, mul, "uvu")
        self.weights = mlp(num_radial + 2 * mul, radial_hidden, self.tp.weight_numel)
        self.linear = DegreeLinear([mul] * (lmax + 1), mul)
        self.gate = NormGate(mul, lmax, gate_hidden or radial_hidden)
        self.skip = DegreeLinear([mul] * (lmax + 1), mul)
        self.inverse_neighbors = 1.0 / avg_neighbors

    def forward(self, x: torch.Tensor, geometry: QHNetGeometry) -> torch.Tensor:
        """Node features (n_atoms, dim) -> updated node features (n_atoms, dim)."""
        receiver, sender = geometry.message_index
        xs = split_degrees(x, self.mul, self.lmax)
        scalars = xs[0][:, :, 0]
        weights = self.weights(
            torch.cat([geometry.message_radial, scalars[receiver], scalars[sender]], dim=-1)
        ) * geometry.message_envelope[:, None]
        messages = self.tp([f[sender] for f in xs], geometry.message_sh, weights)
        aggregated = [
            torch.zeros(x.shape[0], *m.shape[1:], dtype=m.dtype, device=m.device).index_add(
                0, receiver, m
            ) * self.inverse_neighbors
            for m in messages
        ]
        update = self.gate(self.linear(aggregated))
        return join_degrees([s + u for s, u in zip(self.skip(xs), update)])


class SelfLayer(nn.Module):
    """On-site (diagonal) features: ``Linear(x_i (+) TP(a_i, a_i))`` with ``a = Linear(x)``.

    ``a`` has ``bottleneck`` channels per degree; the channel-wise (``uuu``) tensor product
    of ``a_i`` with itself carries the degree couplings that on-site blocks need.

    Args:
        mul: Channels per degree of node and output features.
        lmax: Highest degree.
        bottleneck: Channels per degree of ``a``.
    """

    def __init__(self, mul: int, lmax: int, bottleneck: int) -> None:
        super().__init__()
        self.mul, self.lmax = mul, lmax
        self.down = DegreeLinear([mul] * (lmax + 1), bottleneck)
        self.tp = SO3TensorProduct(lmax, lmax, lmax, bottleneck, "uuu", internal_weights=True)
        self.out = DegreeLinear([mul + bottleneck] * (lmax + 1), mul)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Node features (n_atoms, dim) -> on-site feature increment (n_atoms, dim)."""
        xs = split_degrees(x, self.mul, self.lmax)
        a = self.down(xs)
        return join_degrees(self.out(concat_channels(xs, self.tp(a, a))))


class PairLayer(nn.Module):
    """Pair (off-diagonal) features of the ordered pair (i, j).

    ``Linear( TP_uuu(a_i, a_j; w_ij) (+) TP_uvu(a_j, Y(r_ij); w'_ij) )`` with ``a = Linear(x)``
    (``bottleneck`` channels per degree): a pair tensor product of the two atoms' features
    and (unless ``edge_product`` is False, as in the reference QHNet) an edge tensor
    product, both with per-pair weights from an MLP of the pair's radial embedding and both
    atoms' scalar channels. The result is multiplied by the pair envelope (see
    :class:`QHNetGeometry`).

    Args:
        mul: Channels per degree of node and output features.
        lmax: Highest degree.
        sh_lmax: Highest degree of the spherical harmonics.
        bottleneck: Channels per degree of ``a``.
        num_radial: Radial embedding size.
        radial_hidden: MLP width.
        edge_product: Include the edge tensor product.
    """

    def __init__(
        self, mul: int, lmax: int, sh_lmax: int, bottleneck: int, num_radial: int,
        radial_hidden: int, edge_product: bool = True,
    ) -> None:
        super().__init__()
        self.mul, self.lmax = mul, lmax
        self.down = DegreeLinear([mul] * (lmax + 1), bottleneck)
        self.tp_pair = SO3TensorProduct(lmax, lmax, lmax, bottleneck, "uuu")
        self.tp_edge = SO3TensorProduct(lmax, sh_lmax, lmax, bottleneck, "uvu") if edge_product else None
        self.split = [self.tp_pair.weight_numel] + ([self.tp_edge.weight_numel] if self.tp_edge is not None else [])
        self.weights = mlp(num_radial + 2 * mul, radial_hidden, sum(self.split))
        self.out = DegreeLinear([len(self.split) * bottleneck] * (lmax + 1), mul)

    def forward(self, x: torch.Tensor, geometry: QHNetGeometry) -> torch.Tensor:
        """Node features (n_atoms, dim) -> pair feature increment (n_pairs, dim)."""
        i, j = geometry.pair_index
        xs = split_degrees(x, self.mul, self.lmax)
        a = self.down(xs)
        scalars = xs[0][:, :, 0]
        weights = torch.split(
            self.weights(torch.cat([geometry.pair_radial, scalars[i], scalars[j]], dim=-1)), self.split, dim=-1
        )
        a_i, a_j = [f[i] for f in a], [f[j] for f in a]
        products = [self.tp_pair(a_i, a_j, weights[0])]
        if self.tp_edge is not None:
            products.append(self.tp_edge(a_j, geometry.pair_sh, weights[1]))
        return join_degrees(self.out(concat_channels(*products))) * geometry.pair_envelope[:, None]


class OutputProjection(nn.Module):
    """Optional channel bottleneck on the output self/pair features (identity when ``channels`` is None).

    Args:
        mul: Channels per degree of the accumulated features.
        lmax: Highest degree.
        channels: Output channels per degree, or None to pass features through unchanged.
    """

    def __init__(self, mul: int, lmax: int, channels: int | None) -> None:
        super().__init__()
        self.mul, self.lmax = mul, lmax
        self.linear = DegreeLinear([mul] * (lmax + 1), channels) if channels is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, mul (lmax + 1)^2) -> (n, channels (lmax + 1)^2), or ``x`` itself without a map."""
        if self.linear is None:
            return x
        return join_degrees(self.linear(split_degrees(x, self.mul, self.lmax)))


class QHNetBlock(nn.Module):
    """One message-passing layer, plus self and pair layers when ``with_pairs``.

    Args:
        conv: The message-passing layer.
        self_layer: On-site feature layer, or None before ``pair_start_layer``.
        pair_layer: Pair feature layer, or None before ``pair_start_layer``.
    """

    def __init__(
        self, conv: ConvLayer, self_layer: SelfLayer | None, pair_layer: PairLayer | None
    ) -> None:
        super().__init__()
        self.conv = conv
        self.self_layer = self_layer
        self.pair_layer = pair_layer

    @property
    def with_pairs(self) -> bool:
        """Whether this block adds to the self and pair features."""
        return self.pair_layer is not None

    def forward(self, state: QHNetState) -> QHNetState:
        """Apply the block; returns a new state (the input is not modified)."""
        node = self.conv(state.node, state.geometry)
        self_features, pair_features = state.self_features, state.pair_features
        if self.self_layer is not None and self.pair_layer is not None:
            self_features = self_features + self.self_layer(node)
            pair_features = pair_features + self.pair_layer(node, state.geometry)
        return replace(
            state, node=node, self_features=self_features, pair_features=pair_features,
            layer=state.layer + 1,
        )
