"""Building blocks of the ``mace`` featurizer around MACE: irreps, edges, output layers.

MACE (mace-torch) computes the atoms' equivariant features; this module adds what a
Hamiltonian head needs on top of them, with e3nn tensor products:

* :func:`radius_edges`: MACE's message edges, every ordered pair of atoms of the same
  structure closer than the cutoff (open boundaries);
* :class:`SelfFeatures`: on-site features ``Linear(h_i (+) TP_uuu(a_i, a_i))`` with
  ``a = Linear(h)``: the self tensor product lifts degrees up to the output ``lmax`` (twice
  the basis' highest shell degree), so MACE's hidden irreps may stay smaller;
* :class:`PairFeatures`: features of an ordered pair (i, j),
  ``Linear(TP_uuu(a_i, a_j; w_ij) (+) TP_uvu(a_j, Y(r_ij); w'_ij)) * envelope(r_ij)``, the
  per-pair weights from an MLP of a Gaussian radial basis of ``r_ij`` and both atoms' scalar
  channels.

Irreps are either all-even (``symmetry="so3"``: spherical harmonics relabelled even, SO(3)
equivariance only, which is what the "unnatural" p-p (1e) and p-d (2o) sub-blocks need when
the head ignores parity) or both parities (``symmetry="o3"``: natural-parity spherical
harmonics, O(3) equivariance).
"""

from __future__ import annotations

import torch
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3
from e3nn.nn import FullyConnectedNet


def degree_irreps(multiplicity: int, lmax: int, symmetry: str) -> o3.Irreps:
    """``multiplicity x`` every irrep of degree 0..lmax.

    Args:
        multiplicity: Channels per irrep.
        lmax: Highest degree.
        symmetry: ``"so3"``: even parity only (``0e + 1e + ...``); ``"o3"``: both parities
            (``0e + 0o + 1e + 1o + ...``, degree-major).

    Returns:
        The irreps.
    """
    parities = (1,) if symmetry == "so3" else (1, -1)
    return o3.Irreps([(multiplicity, (l, p)) for l in range(lmax + 1) for p in parities])


def sh_irreps(lmax: int, symmetry: str) -> o3.Irreps:
    """Irreps of the spherical harmonics 0..lmax: relabelled even (so3) or natural parity (o3)."""
    return o3.Irreps([(1, (l, 1 if symmetry == "so3" else (-1) ** l)) for l in range(lmax + 1)])


def scalar_indices(irreps: o3.Irreps) -> torch.Tensor:
    """Positions of the ``0e`` components in a flat feature vector of ``irreps``, (n_scalars,) long."""
    index = [
        sl.start + u
        for (mul, ir), sl in zip(irreps, irreps.slices())
        if ir == o3.Irrep(0, 1)
        for u in range(mul)
    ]
    return torch.tensor(index, dtype=torch.long)


def _instructions(irreps1: o3.Irreps, irreps2: o3.Irreps, irreps_out: o3.Irreps, mode: str) -> list[tuple]:
    """Every allowed path ``(i1, i2, i_out, mode, True)`` between equal-multiplicity entries."""
    found = []
    for i1, (mul1, ir1) in enumerate(irreps1):
        for i2, (mul2, ir2) in enumerate(irreps2):
            for i_out, (mul_out, ir_out) in enumerate(irreps_out):
                same = mul1 == mul_out and (mode == "uvu" or mul1 == mul2)
                if same and ir_out in ir1 * ir2:
                    found.append((i1, i2, i_out, mode, True))
    return found


def radius_edges(pos: torch.Tensor, batch: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Ordered pairs (i, j), i != j, of atoms of the same structure closer than ``cutoff``.

    Dense within each structure (``sum n_b^2`` candidate pairs; molecules, open boundaries).
    Atoms of one structure must be contiguous, as in torch-geometric batches.

    Args:
        pos: (n_atoms, 3) positions.
        batch: (n_atoms,) structure index of each atom, non-decreasing.
        cutoff: Radius (same unit as ``pos``).

    Returns:
        (2, n_edges) long, sorted by i then j.
    """
    n = pos.shape[0]
    device = pos.device
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=device)
    counts = torch.bincount(batch)
    starts = torch.cumsum(counts, 0) - counts
    partners = counts[batch]
    row = torch.repeat_interleave(torch.arange(n, device=device), partners)
    first = torch.cumsum(partners, 0) - partners
    col = starts[batch[row]] + torch.arange(row.numel(), device=device) - first[row]
    with torch.no_grad():
        distance = (pos[col] - pos[row]).norm(dim=-1)
    keep = (row != col) & (distance < cutoff)
    return torch.stack([row[keep], col[keep]])


class DegreeRMSNorm(nn.Module):
    """Parameter-free equivariant normalization: each irreps entry divided by its RMS.

    For every entry ``mul x ir`` of the irreps, the features of one item (shape
    ``(mul, 2l + 1)``) are divided by ``sqrt(mean(x^2) + eps)``, an invariant, so the result
    transforms like the input. It puts MACE's small features (RMS ~1e-2 at initialization,
    depending on ``avg_num_neighbors``) on a unit scale before the output layers.

    Args:
        irreps: The feature irreps.
        eps: Added to the mean square.
    """

    def __init__(self, irreps: o3.Irreps, eps: float = 1e-10) -> None:
        super().__init__()
        self.sizes = [mul * ir.dim for mul, ir in irreps]
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, irreps.dim) -> (n, irreps.dim)."""
        pieces = torch.split(x, self.sizes, dim=-1)
        return torch.cat(
            [p * torch.rsqrt(p.square().mean(dim=-1, keepdim=True) + self.eps) for p in pieces], dim=-1
        )


class SelfFeatures(nn.Module):
    """On-site features ``Linear(h (+) TP_uuu(a, a))`` with ``a = Linear(h)``.

    Args:
        irreps_in: Irreps of the MACE node features ``h``.
        irreps_out: Output irreps (every degree 0..out_lmax).
        bottleneck: Irreps of ``a`` (``bottleneck x`` degrees 0..MACE lmax).
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, bottleneck: o3.Irreps) -> None:
        super().__init__()
        mul = bottleneck[0].mul
        product = o3.Irreps([(mul, ir) for _, ir in irreps_out])
        self.down = o3.Linear(irreps_in, bottleneck)
        self.tp = o3.TensorProduct(
            bottleneck, bottleneck, product, _instructions(bottleneck, bottleneck, product, "uuu"),
            internal_weights=True, shared_weights=True,
        )
        self.out = o3.Linear(irreps_in + product, irreps_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Node features (n_atoms, irreps_in.dim) -> (n_atoms, irreps_out.dim)."""
        a = self.down(h)
        return self.out(torch.cat([h, self.tp(a, a)], dim=-1))


class PairFeatures(nn.Module):
    """Pair features ``Linear(TP_uuu(a_i, a_j; w) (+) TP_uvu(a_j, Y(r_ij); w')) * envelope``.

    Args:
        irreps_in: Irreps of the MACE node features ``h``.
        irreps_out: Output irreps.
        bottleneck: Irreps of ``a = Linear(h)``.
        edge_sh: Irreps of the pair spherical harmonics ``Y``.
        n_scalars: Number of ``0e`` channels of ``h`` fed to the weight MLP (per atom).
        num_radial: Size of the pair radial basis.
        hidden: Width of the weight MLP (two hidden layers; e3nn's normalized
            ``FullyConnectedNet``, so weights start with unit variance).
    """

    def __init__(
        self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, bottleneck: o3.Irreps,
        edge_sh: o3.Irreps, n_scalars: int, num_radial: int, hidden: int,
    ) -> None:
        super().__init__()
        mul = bottleneck[0].mul
        product = o3.Irreps([(mul, ir) for _, ir in irreps_out])
        self.down = o3.Linear(irreps_in, bottleneck)
        self.tp_pair = o3.TensorProduct(
            bottleneck, bottleneck, product, _instructions(bottleneck, bottleneck, product, "uuu"),
            internal_weights=False, shared_weights=False,
        )
        self.tp_edge = o3.TensorProduct(
            bottleneck, edge_sh, product, _instructions(bottleneck, edge_sh, product, "uvu"),
            internal_weights=False, shared_weights=False,
        )
        self.split = [self.tp_pair.weight_numel, self.tp_edge.weight_numel]
        self.weights = FullyConnectedNet(
            [num_radial + 2 * n_scalars, hidden, hidden, sum(self.split)], torch.nn.functional.silu
        )
        self.out = o3.Linear(product + product, irreps_out)

    def forward(
        self, h: torch.Tensor, scalars: torch.Tensor, pair_index: torch.Tensor,
        sh: torch.Tensor, radial: torch.Tensor, envelope: torch.Tensor,
    ) -> torch.Tensor:
        """Pair features (n_pairs, irreps_out.dim).

        Args:
            h: Node features (n_atoms, irreps_in.dim).
            scalars: Their ``0e`` channels (n_atoms, n_scalars).
            pair_index: (2, n_pairs) atoms (i, j).
            sh: Spherical harmonics of ``pos_j - pos_i`` in e3nn's frame, (n_pairs, edge_sh.dim).
            radial: Radial basis of ``|pos_j - pos_i|``, (n_pairs, num_radial).
            envelope: Multiplies the result, (n_pairs,).
        """
        i, j = pair_index
        a = self.down(h)
        weights = self.weights(torch.cat([radial, scalars[i], scalars[j]], dim=-1))
        w_pair, w_edge = torch.split(weights, self.split, dim=-1)
        mixed = torch.cat([self.tp_pair(a[i], a[j], w_pair), self.tp_edge(a[j], sh, w_edge)], dim=-1)
        return self.out(mixed) * envelope[:, None]
