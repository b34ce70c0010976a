"""DeepH-E3's node update and edge update blocks (Gong et al., Nat. Commun. 2023), our own code.

Both blocks run one equivariant convolution on every edge ``(i, j)`` (an ordered atom pair
of the graph, i.e. a hopping): the features ``x_i (+) x_j (+) e_ij`` (node, node, edge,
stacked channel-wise per irrep type) are coupled with the spherical harmonics ``Y(r_ij)``
by a tensor product whose per-edge weights come from an MLP of the radial embedding, mixed
by a linear map and passed through a gate (:class:`EquivariantConv`).

* :class:`NodeUpdate`: ``x_i <- LayerNorm(Linear(sum_j c(r_ij) conv_ij / avg) + SC_Z(i)(x_i))``
  over the edges closer than the cutoff (``c`` the smooth cutoff);
* :class:`EdgeUpdate`: ``e_ij <- LayerNorm(Linear(conv_ij) + SC_(Z(i), Z(j))(e_ij))``, times
  ``c(r_ij)`` when ``pair_envelope`` (features fade smoothly to zero at the cutoff);

``SC`` is the self-connection, a linear map per element (per ordered element pair for
edges), as DeepH-E3's tensor product with the one-hot species. A :class:`DeepHE3Block` is one
node update followed by one edge update and maps a :class:`DeepHE3State` to the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from hamkit_plugins.deeph_e3.irreps import IrrepsFeatures, IrrepsSpec, concat_features, concat_specs
from hamkit_plugins.deeph_e3.ops import (
    ConvTensorProduct,
    EquivariantLayerNorm,
    Gate,
    IrrepsLinear,
    TypedLinear,
    TypeGroups,
)


@dataclass(frozen=True)
class DeepHE3Geometry:
    """Per-forward geometric inputs shared by every block.

    Attributes:
        pair_index: The graph's ordered pairs (i, j) = the edges, (2, n_pairs).
        sh: Spherical harmonics of ``r_ij = pos_j - pos_i (+ pair_shift)`` in e3nn's frame,
            (n_pairs, (sh_lmax + 1)^2), component normalization.
        radial: Gaussian embedding times the smooth cutoff, (n_pairs, num_radial).
        envelope: Smooth cutoff ``c(r_ij)``, (n_pairs,).
        message: Indices of the pairs closer than the cutoff (the node updates' messages).
        node_groups: Atoms grouped by element.
        pair_groups: Pairs grouped by ordered element pair.
        pair_cell_shift: Periodic graphs: lattice translation of atom j per pair, (n_pairs, 3)
            long; None for molecules.
    """

    pair_index: torch.Tensor
    sh: torch.Tensor
    radial: torch.Tensor
    envelope: torch.Tensor
    message: torch.Tensor
    node_groups: TypeGroups
    pair_groups: TypeGroups
    pair_cell_shift: torch.Tensor | None = None


@dataclass
class DeepHE3State:
    """Features between blocks (mutable on purpose: see ``DeepHE3Featurizer.forward_blocks``).

    Attributes:
        geometry: The per-forward geometry.
        node: Node (= on-site) features, (n_atoms, node_irreps.dim).
        pair: Edge (= pair) features of ``geometry.pair_index``, (n_pairs, pair_irreps.dim).
        layer: Number of blocks (node + edge update) applied so far.

    ``self_features`` and ``pair_features`` are aliases of ``node`` and ``pair`` (the names
    of qhnet's state), so block-wise code written for qhnet runs unchanged.
    """

    geometry: DeepHE3Geometry
    node: torch.Tensor
    pair: torch.Tensor
    layer: int = 0

    @property
    def self_features(self) -> torch.Tensor:
        """Alias of ``node``."""
        return self.node

    @self_features.setter
    def self_features(self, value: torch.Tensor) -> None:
        self.node = value

    @property
    def pair_features(self) -> torch.Tensor:
        """Alias of ``pair``."""
        return self.pair

    @pair_features.setter
    def pair_features(self, value: torch.Tensor) -> None:
        self.pair = value


def radial_mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """``n_in -> hidden -> hidden -> n_out`` with SiLU (DeepH-E3's weight network)."""
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, n_out)
    )


class EquivariantConv(nn.Module):
    """``Gate(Linear(TP(x, Y; w = MLP(radial))))`` on a set of edges.

    Args:
        spec_in: Irreps of the stacked edge inputs.
        spec_out: Output irreps (must contain ``0e``).
        sh_lmax: Highest harmonic degree.
        physical_parity: Harmonics carry parity ``(-1)^l``.
        num_radial: Radial embedding size.
        radial_hidden: MLP width.
    """

    def __init__(
        self, spec_in: IrrepsSpec, spec_out: IrrepsSpec, sh_lmax: int, physical_parity: bool,
        num_radial: int, radial_hidden: int,
    ) -> None:
        super().__init__()
        self.gate = Gate(spec_out)
        self.tp = ConvTensorProduct(spec_in, sh_lmax, physical_parity, self.gate.spec_in)
        self.weights = radial_mlp(num_radial, radial_hidden, self.tp.weight_numel)

    def forward(self, x: IrrepsFeatures, sh: torch.Tensor, radial: torch.Tensor) -> IrrepsFeatures:
        """Edge inputs (n_edges items) -> gated edge outputs of ``spec_out``."""
        return self.gate(self.tp(x, sh, self.weights(radial)))


def _edge_inputs(
    spec: IrrepsSpec, node_spec: IrrepsSpec, edge_spec: IrrepsSpec, node: torch.Tensor,
    edge: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
) -> IrrepsFeatures:
    """``x_i (+) x_j (+) e_ij`` in the layout of ``spec``."""
    return concat_features(
        spec,
        [
            (node_spec, node_spec.split(node.index_select(0, i))),
            (node_spec, node_spec.split(node.index_select(0, j))),
            (edge_spec, edge_spec.split(edge)),
        ],
    )


def _add(a: IrrepsFeatures, b: IrrepsFeatures) -> IrrepsFeatures:
    return [x + y for x, y in zip(a, b)]


class NodeUpdate(nn.Module):
    """Node update block: messages over the edges within the cutoff, self-connection, layer norm.

    Args:
        node_in: Irreps of the incoming node features.
        edge_in: Irreps of the incoming edge features.
        node_out: Irreps of the updated node features.
        n_species: Number of elements (self-connection types).
        sh_lmax, physical_parity, num_radial, radial_hidden: See :class:`EquivariantConv`.
        avg_neighbors: The summed messages are divided by this constant.
    """

    def __init__(
        self, node_in: IrrepsSpec, edge_in: IrrepsSpec, node_out: IrrepsSpec, n_species: int,
        sh_lmax: int, physical_parity: bool, num_radial: int, radial_hidden: int,
        avg_neighbors: float,
    ) -> None:
        super().__init__()
        self.node_in, self.edge_in, self.node_out = node_in, edge_in, node_out
        self.spec_message = concat_specs(node_in, node_in, edge_in)
        self.conv = EquivariantConv(
            self.spec_message, node_out, sh_lmax, physical_parity, num_radial, radial_hidden
        )
        self.post = IrrepsLinear(node_out, node_out)
        self.self_connection = TypedLinear(node_in, node_out, n_species)
        self.norm = EquivariantLayerNorm(node_out)
        self.inverse_neighbors = 1.0 / avg_neighbors

    def forward(self, node: torch.Tensor, edge: torch.Tensor, geometry: DeepHE3Geometry) -> torch.Tensor:
        """Node (n_atoms, node_in.dim) and edge (n_pairs, edge_in.dim) -> node (n_atoms, node_out.dim)."""
        m = geometry.message
        i, j = geometry.pair_index[0].index_select(0, m), geometry.pair_index[1].index_select(0, m)
        inputs = _edge_inputs(
            self.spec_message, self.node_in, self.edge_in, node, edge.index_select(0, m), i, j
        )
        messages = self.conv(inputs, geometry.sh.index_select(0, m), geometry.radial.index_select(0, m))
        weight = (geometry.envelope.index_select(0, m) * self.inverse_neighbors)[:, None, None]
        aggregated = [
            msg.new_zeros(node.shape[0], *msg.shape[1:]).index_add(0, i, msg * weight) for msg in messages
        ]
        skip = self.self_connection(self.node_in.split(node), geometry.node_groups)
        return IrrepsSpec.join(self.norm(_add(self.post(aggregated), skip)))


class EdgeUpdate(nn.Module):
    """Edge update block: one convolution per edge (no aggregation), self-connection, layer norm.

    Args:
        node_in: Irreps of the (already updated) node features.
        edge_in: Irreps of the incoming edge features.
        edge_out: Irreps of the updated edge features.
        n_pair_types: Number of ordered element pairs (self-connection types).
        envelope: Multiply the output by the smooth cutoff.
        sh_lmax, physical_parity, num_radial, radial_hidden: See :class:`EquivariantConv`.
    """

    def __init__(
        self, node_in: IrrepsSpec, edge_in: IrrepsSpec, edge_out: IrrepsSpec, n_pair_types: int,
        sh_lmax: int, physical_parity: bool, num_radial: int, radial_hidden: int, envelope: bool,
    ) -> None:
        super().__init__()
        self.node_in, self.edge_in, self.edge_out = node_in, edge_in, edge_out
        self.spec_edge = concat_specs(node_in, node_in, edge_in)
        self.conv = EquivariantConv(
            self.spec_edge, edge_out, sh_lmax, physical_parity, num_radial, radial_hidden
        )
        self.post = IrrepsLinear(edge_out, edge_out)
        self.self_connection = TypedLinear(edge_in, edge_out, n_pair_types)
        self.norm = EquivariantLayerNorm(edge_out)
        self.envelope = envelope

    def forward(self, node: torch.Tensor, edge: torch.Tensor, geometry: DeepHE3Geometry) -> torch.Tensor:
        """Node (n_atoms, node_in.dim) and edge (n_pairs, edge_in.dim) -> edge (n_pairs, edge_out.dim)."""
        i, j = geometry.pair_index
        inputs = _edge_inputs(self.spec_edge, self.node_in, self.edge_in, node, edge, i, j)
        update = self.post(self.conv(inputs, geometry.sh, geometry.radial))
        skip = self.self_connection(self.edge_in.split(edge), geometry.pair_groups)
        out = IrrepsSpec.join(self.norm(_add(update, skip)))
        return out * geometry.envelope[:, None] if self.envelope else out


class DeepHE3Block(nn.Module):
    """One node update followed by one edge update."""

    def __init__(self, node_update: NodeUpdate, edge_update: EdgeUpdate) -> None:
        super().__init__()
        self.node_update = node_update
        self.edge_update = edge_update

    def forward(self, state: DeepHE3State) -> DeepHE3State:
        """Apply both updates; returns a new state (the input is not modified)."""
        node = self.node_update(state.node, state.pair, state.geometry)
        pair = self.edge_update(node, state.pair, state.geometry)
        return replace(state, node=node, pair=pair, layer=state.layer + 1)
