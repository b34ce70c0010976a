"""The ``gate`` inducer: a gated-non-linearity baseline for ablations against ``gradient``."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from pydantic import Field, field_validator
from torch import nn

from hamkit.components import BuildContext, ComponentConfig, Inducer
from hamkit.components.inducer import InvariantFunction
from hamkit.errors import HamkitError
from hamkit.recipe.bounds import check_irreps_bounds, check_widths
from hamkit_plugins.tracegrad.combine import ResidualScale
from hamkit_plugins.tracegrad.encoder import mlp_layers
from hamkit_plugins.tracegrad.layout import irrep_groups, parse_irreps, resolve_irreps, torch_dtype


class GateConfig(ComponentConfig):
    """Options of the ``gate`` inducer."""

    irreps_in: str | None = Field(
        None,
        description="e3nn irreps of the features (must contain 0e scalars); default: the "
        "irreps declared upstream (context.declared.irreps).",
    )
    hidden: list[int] = Field(
        default_factory=lambda: [256, 256],
        min_length=1,
        description="Widths of the MLP (Linear, LayerNorm, SiLU) on the 0e scalars; match "
        "trace_mlp's 'hidden' for a fair ablation.",
    )
    init_scale: float = Field(0.1, description="Initial multiplier a of the update f + a * u.")
    learnable_scale: bool = Field(True, description="Train the multiplier a.")

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        return check_widths(widths, "hidden")

    @field_validator("irreps_in")
    @classmethod
    def _irreps_bounds(cls, irreps: str | None) -> str | None:
        return irreps if irreps is None else check_irreps_bounds(irreps, "irreps_in")


class GateInducer(Inducer):
    """Gated baseline: an MLP of the 0e scalars gates channel-mixed l>0 blocks, f + a * update.

    The 0e channels of f go through an MLP; its head gives an update of the
    scalars and one sigmoid gate per non-scalar channel (every l > 0 channel and
    0o pseudo-scalars). The update of a non-scalar group (l, p) is
    ``gate_u * (W^(l,p) f^(l,p))_u`` with a learnable channel mixing W: the same
    form as e3nn's ``nn.Gate`` after a linear layer. It is equivariant (gates are
    invariant, W mixes whole channels) and keeps the irreps. Unlike the gradient
    inducer, the mixing W does not depend on the invariants. The invariant
    encoder argument is ignored.
    """

    name: ClassVar[str] = "gate"
    Config: ClassVar[type[ComponentConfig]] = GateConfig

    scalar_index: torch.Tensor
    inverse_order: torch.Tensor

    def __init__(self, config: GateConfig, irreps_in: str | None = None) -> None:
        """Build from options.

        Args:
            config: Validated options.
            irreps_in: Irreps overriding ``config.irreps_in`` (used by ``from_config``).

        Raises:
            HamkitError: No irreps, or irreps without 0e scalars.
        """
        super().__init__()
        source = irreps_in or config.irreps_in
        if source is None:
            raise HamkitError(f"{self.name}: 'irreps_in' is required when built directly")
        irreps = parse_irreps(source, self.name)
        self.irreps_in = str(irreps)
        self.dim_in = irreps.dim
        groups = irrep_groups(irreps)
        scalars = [group for group in groups if group.is_scalar]
        if not scalars:
            raise HamkitError(
                f"{self.name}: irreps '{irreps}' have no 0e scalars to compute gates from"
            )
        others = [group for group in groups if not group.is_scalar]
        self.register_buffer("scalar_index", scalars[0].index[:, 0], persistent=False)
        self.num_scalars = scalars[0].multiplicity
        self.num_groups = len(others)
        self.gate_sizes = [group.multiplicity for group in others]
        for i, group in enumerate(others):
            self.register_buffer(f"index_{i}", group.index, persistent=False)
            mixing = torch.randn(group.multiplicity, group.multiplicity)
            self.register_parameter(
                f"mixing_{i}", nn.Parameter(mixing / math.sqrt(group.multiplicity))
            )
        order = torch.cat([self.scalar_index] + [group.index.reshape(-1) for group in others])
        self.register_buffer("inverse_order", torch.argsort(order), persistent=False)
        self.mlp = mlp_layers([self.num_scalars, *config.hidden])
        self.head = nn.Linear(config.hidden[-1], self.num_scalars + sum(self.gate_sizes))
        self.residual_scale = ResidualScale(config.init_scale, config.learnable_scale)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "GateInducer":
        """Build, taking the irreps from the context when the config has none.

        Args:
            config: A :class:`GateConfig`.
            context: Build context (``declared.irreps``, ``dtype``).

        Returns:
            The inducer, with parameters in ``context.dtype``.
        """
        assert isinstance(config, GateConfig)
        irreps = resolve_irreps(config.irreps_in, context, cls.name)
        return cls(config, irreps_in=str(irreps)).to(torch_dtype(context.dtype, cls.name))

    def update(self, features: torch.Tensor) -> torch.Tensor:
        """The gated update u, before the residual multiplier.

        Args:
            features: f, shape (n_items, irreps.dim).

        Returns:
            u, same shape and irreps.
        """
        hidden = self.mlp(features[..., self.scalar_index])  # (n, hidden[-1])
        outputs = self.head(hidden).split([self.num_scalars, *self.gate_sizes], dim=-1)
        pieces = [outputs[0]]  # scalar update, (n, S)
        for i, gate in enumerate(outputs[1:]):
            block = features[..., getattr(self, f"index_{i}")]  # (n, M, 2l+1)
            mixed = torch.einsum("uw,...wd->...ud", getattr(self, f"mixing_{i}"), block)
            pieces.append((torch.sigmoid(gate).unsqueeze(-1) * mixed).flatten(-2))
        return torch.cat(pieces, dim=-1)[..., self.inverse_order]

    def forward(
        self, features: torch.Tensor, invariants_of: InvariantFunction | None = None
    ) -> torch.Tensor:
        """Induce.

        Args:
            features: Equivariant features f, shape (n_items, irreps.dim).
            invariants_of: Ignored (the gate uses the 0e part of f directly).

        Returns:
            f + a * u, same shape and irreps as f.
        """
        if features.shape[-1] != self.dim_in:
            raise HamkitError(
                f"{self.name}: features have {features.shape[-1]} components, but irreps "
                f"'{self.irreps_in}' have {self.dim_in}"
            )
        return features + self.residual_scale(self.update(features))
