"""A parameter-free equivariant featurizer, for testing heads without a trained backbone."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, ComponentConfig, Featurizer
from hamkit.components.features import EquivariantFeatures
from hamkit.data.graph_fields import StructureGraph
from hamkit.physics.frames import to_e3nn_frame


class ReferenceFeaturesConfig(ComponentConfig):
    """Options of :class:`ReferenceFeaturizer`."""

    mul: int = Field(3, ge=1, description="Channels per degree.")
    lmax: int = Field(4, ge=0, description="Highest degree.")


class ReferenceFeaturizer(Featurizer):
    """Deterministic SO(3)-equivariant features (all-even irreps) from spherical harmonics.

    Node ``i``, degree ``l``, channel ``u``:
    ``sum_j exp(-a_u r_ij) (1 + 0.01 u Z_j) Y_l(r_ij)`` plus, for ``l = 0``, ``0.1 Z_i (u + 1)``.
    Pair ``(i, j)``: ``exp(-a_u r_ij) (1 + 0.05 Z_i + 0.02 u Z_j) Y_l(r_ij) + 0.3 node_i - 0.2 node_j``.
    Every irrep is generically non-zero, so a head fed with these exercises all its paths.
    Not registered as a plugin; meant for :class:`hamkit.testing.contracts.HeadContract`.
    """

    name: ClassVar[str] = "reference_features"
    Config: ClassVar[type[ComponentConfig]] = ReferenceFeaturesConfig

    def __init__(self, config: ReferenceFeaturesConfig, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.config = config
        self.irreps = o3.Irreps([(config.mul, (l, 1)) for l in range(config.lmax + 1)])
        self.node_irreps = self.pair_irreps = str(self.irreps)
        self.dtype = dtype
        self.decay = [0.5 + 0.3 * u for u in range(config.mul)]

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "ReferenceFeaturizer":
        """Build; the output dtype is ``context.dtype``."""
        assert isinstance(config, ReferenceFeaturesConfig)
        return cls(config, getattr(torch, context.dtype))

    def forward(self, graph: StructureGraph) -> EquivariantFeatures:
        """Features: node (n_atoms, dim), pair (n_pairs, dim), dim = mul (lmax + 1)^2."""
        mul, lmax = self.config.mul, self.config.lmax
        pos = graph.pos.to(self.dtype)
        z = graph.z.to(self.dtype)
        i, j = graph.pair_index.long()
        vectors = pos[j] - pos[i]
        distance = vectors.norm(dim=-1)
        u = torch.arange(mul, dtype=self.dtype, device=pos.device)
        decay = torch.tensor(self.decay, dtype=self.dtype, device=pos.device)
        radial = torch.exp(-distance[:, None] * decay)  # (p, mul)
        sh = o3.spherical_harmonics(list(range(lmax + 1)), to_e3nn_frame(vectors), True, normalization="component")
        node_parts, pair_parts, start = [], [], 0
        for l in range(lmax + 1):
            y = sh[:, start : start + 2 * l + 1]
            start += 2 * l + 1
            weight = radial * (1 + 0.01 * u * z[j][:, None])
            node = pos.new_zeros(len(z), mul, 2 * l + 1).index_add(
                0, i, weight[:, :, None] * y[:, None, :]
            )
            if l == 0:
                node = node + 0.1 * z[:, None, None] * (u + 1)[None, :, None]
            pair = (radial * (1 + 0.05 * z[i][:, None] + 0.02 * u * z[j][:, None]))[:, :, None] * y[:, None, :]
            pair = pair + 0.3 * node[i] - 0.2 * node[j]
            node_parts.append(node.reshape(len(z), -1))
            pair_parts.append(pair.reshape(len(i), -1))
        return EquivariantFeatures(
            node=torch.cat(node_parts, dim=-1),
            pair=torch.cat(pair_parts, dim=-1),
            pair_index=graph.pair_index,
            node_irreps=self.node_irreps,
            pair_irreps=self.pair_irreps,
        )
