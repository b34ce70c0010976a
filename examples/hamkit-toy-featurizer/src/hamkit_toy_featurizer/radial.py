"""A one-step equivariant featurizer: radial basis x spherical harmonics."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from pydantic import Field

from e3nn import o3

from hamkit.components import BuildContext, ComponentConfig, Featurizer
from hamkit.components.features import EquivariantFeatures


class ToyRadialConfig(ComponentConfig):
    """Options of ``toy_radial``."""

    channels: int = Field(8, gt=0, description="Channels per degree.")
    lmax: int = Field(2, ge=0, le=6, description="Largest spherical-harmonic degree.")
    cutoff: float = Field(5.0, gt=0.0, description="Radius in Angstrom beyond which neighbours are ignored.")
    num_radial: int = Field(8, gt=0, description="Gaussian radial basis functions.")
    max_atomic_number: int = Field(100, gt=0, description="Size of the species embedding.")


class ToyRadialFeaturizer(Featurizer):
    """One-layer featurizer: species-weighted radial basis x spherical harmonics."""

    name: ClassVar[str] = "toy_radial"
    Config: ClassVar[type[ComponentConfig]] = ToyRadialConfig

    def __init__(self, config: ToyRadialConfig) -> None:
        super().__init__()
        self.config = config
        sh_irreps = o3.Irreps.spherical_harmonics(config.lmax)
        self.sh_irreps = sh_irreps
        self.node_irreps = str((config.channels * sh_irreps).sort().irreps.simplify())
        self.pair_irreps = self.node_irreps
        self.embedding = torch.nn.Embedding(config.max_atomic_number + 1, config.channels)
        self.radial = torch.nn.Linear(config.num_radial, config.channels * (config.lmax + 1))
        centers = torch.linspace(0.0, config.cutoff, config.num_radial)
        self.register_buffer("centers", centers)
        self.width = config.cutoff / config.num_radial

    @classmethod
    def from_config(cls, config: ToyRadialConfig, context: BuildContext) -> "ToyRadialFeaturizer":
        """Build with parameters in the context's dtype (``"float32"`` or ``"float64"``)."""
        return cls(config).to(getattr(torch, context.dtype))

    def _edge_features(self, vectors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """(n_edges, 3) vectors and (n_edges, channels) weights -> (n_edges, irreps.dim)."""
        distances = vectors.norm(dim=-1, keepdim=True)
        basis = torch.exp(-((distances - self.centers) / self.width) ** 2)
        envelope = 0.5 * (torch.cos(math.pi * distances / self.config.cutoff) + 1.0)
        envelope = envelope * (distances < self.config.cutoff)
        radial = self.radial(basis).view(-1, self.config.lmax + 1, self.config.channels)
        # e3nn's harmonics use y as the polar axis: feed (y, z, x) for the standard frame.
        sh = o3.spherical_harmonics(self.sh_irreps, vectors[:, [1, 2, 0]], normalize=True)
        parts = []
        for l in range(self.config.lmax + 1):
            y_l = sh[:, l * l:(l + 1) * (l + 1)]
            scale = (radial[:, l] * weights * envelope).unsqueeze(-1)
            parts.append((scale * y_l.unsqueeze(1)).reshape(len(vectors), -1))
        return torch.cat(parts, dim=-1)

    def forward(self, graph) -> EquivariantFeatures:
        """Features from ``graph.z`` (n,), ``graph.pos`` (n, 3) and ``graph.pair_index`` (2, p)."""
        species = self.embedding(graph.z)
        i, j = graph.pair_index
        pos = graph.pos.to(self.centers.dtype)  # positions may come in another dtype
        vectors = pos[j] - pos[i]
        pair = self._edge_features(vectors, species[i] * species[j])
        node = torch.zeros(len(graph.z), pair.shape[-1], dtype=pair.dtype, device=pair.device)
        node = node.index_add(0, i, pair)
        return EquivariantFeatures(node, pair, graph.pair_index, self.node_irreps, self.pair_irreps)
