"""The tensors that flow between model components."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class EquivariantFeatures:
    """Equivariant features of a batch of structures, as a featurizer returns them.

    Attributes:
        node: Per-atom features, shape (n_atoms, node_irreps.dim).
        pair: Per-pair features, shape (n_pairs, pair_irreps.dim).
        pair_index: Atom indices (i, j) of each pair, shape (2, n_pairs), long.
        node_irreps: e3nn irreps string of ``node``.
        pair_irreps: e3nn irreps string of ``pair``.
        pair_cell_shift: Periodic graphs only: lattice translation R of atom j of each
            pair, shape (n_pairs, 3), long (the pair is (i, j + R)); None for molecules.
    """

    node: torch.Tensor
    pair: torch.Tensor
    pair_index: torch.Tensor
    node_irreps: str
    pair_irreps: str
    pair_cell_shift: torch.Tensor | None = None
