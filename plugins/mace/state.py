"""What flows between MACE layers: the per-forward geometry and the layer-by-layer state."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class MACEGeometry:
    """Per-forward inputs shared by every layer.

    Attributes:
        node_attrs: One-hot species, (n_atoms, n_species).
        edge_index: MACE's message edges (sender, receiver), (2, n_edges).
        edge_attrs: Spherical harmonics of the edge vectors ``r_ij`` (e3nn frame),
            (n_edges, (max_ell + 1)^2).
        edge_feats: MACE's radial embedding times its cutoff envelope, (n_edges, num_radial).
        pair_index: The graph's ``pair_index`` (i, j), (2, n_pairs).
        pair_sh: Spherical harmonics of ``r_ij = pos_j - pos_i (+ pair_shift)`` (e3nn frame),
            (n_pairs, sh dim).
        pair_radial: Gaussian basis of the pair distances, (n_pairs, num_radial).
        pair_envelope: Cosine cutoff at ``pair_cutoff`` (ones when None), (n_pairs,).
        pair_cell_shift: Crystals: lattice translation of atom j per pair, (n_pairs, 3) long;
            None for molecules.
    """

    node_attrs: torch.Tensor
    edge_index: torch.Tensor
    edge_attrs: torch.Tensor
    edge_feats: torch.Tensor
    pair_index: torch.Tensor
    pair_sh: torch.Tensor
    pair_radial: torch.Tensor
    pair_envelope: torch.Tensor
    pair_cell_shift: torch.Tensor | None = None


@dataclass
class MACEState:
    """Features between MACE layers (mutable: see :meth:`MACEFeaturizer.forward_blocks`).

    Attributes:
        geometry: The per-forward geometry.
        node: The latest node features (n_atoms, dim): the species embedding
            (``channels x 0e``) before the first layer, then the last layer's output
            (irreps ``hidden_irreps``). The next layer reads this.
        previous: Outputs of the earlier layers (as they were when the next layer ran).
        layer: Number of layers applied so far.
    """

    geometry: MACEGeometry
    node: torch.Tensor
    previous: list[torch.Tensor] = field(default_factory=list)
    layer: int = 0
