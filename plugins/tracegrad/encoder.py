"""The ``trace_mlp`` invariant encoder: bilinear invariants, then a deep MLP (TraceGrad's "Trace")."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field, field_validator
from torch import nn

from hamkit.components import BuildContext, ComponentConfig, InvariantEncoder
from hamkit.errors import HamkitError
from hamkit.recipe.bounds import Width, check_irreps_bounds, check_widths
from hamkit_plugins.tracegrad.bilinear import GramContraction
from hamkit_plugins.tracegrad.layout import irrep_groups, parse_irreps, resolve_irreps, torch_dtype


class TraceMLPConfig(ComponentConfig):
    """Options of the ``trace_mlp`` invariant encoder."""

    irreps_in: str | None = Field(
        None,
        description="e3nn irreps of the input features (e.g. '32x0e+16x1o+8x2e'); "
        "default: the irreps declared upstream (context.declared.irreps).",
    )
    num_scalars: Width = Field(
        256, ge=1, description="K, invariants from the bilinear contraction f(x)f (paper: 1024)."
    )
    hidden: list[int] = Field(
        default_factory=lambda: [256, 256],
        min_length=1,
        description="Widths of the MLP layers (Linear, LayerNorm, SiLU); z has width hidden[-1].",
    )
    project_channels: Width | None = Field(
        None,
        ge=1,
        description="If set, mix each (l, parity) group down to this many channels before "
        "the Gram contraction (low-rank, cheaper for very wide features); None = exact "
        "full bilinear contraction.",
    )
    num_traces: Width | None = Field(
        None,
        ge=1,
        description="Trace labels per item; if set, a decoder MLP maps z to predicted traces. "
        "Default: what the data declares (context.declared.num_traces), i.e. the largest "
        "number of (shell, shell) sub-blocks of a block in the dataset's basis.",
    )

    @field_validator("hidden")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        return check_widths(widths, "hidden")

    @field_validator("irreps_in")
    @classmethod
    def _irreps_bounds(cls, irreps: str | None) -> str | None:
        return irreps if irreps is None else check_irreps_bounds(irreps, "irreps_in")


def mlp_layers(widths: list[int]) -> nn.Sequential:
    """(Linear, LayerNorm, SiLU) for each consecutive pair of widths.

    Args:
        widths: [input width, hidden widths...].

    Returns:
        The stack; all its ops support double backward.
    """
    layers: list[nn.Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(width_in, width_out), nn.LayerNorm(width_out), nn.SiLU()]
    return nn.Sequential(*layers)


class TraceMLPEncoder(InvariantEncoder):
    """TraceGrad's invariant encoder: learnable f(x)f -> K scalars, then a deep MLP.

    s = bilinear contraction of f with itself to K invariant scalars (per (l, parity)
    Gram matrices of the channels and a Linear, equivalent to an e3nn
    FullyConnectedTensorProduct to Kx0e, see :mod:`hamkit_plugins.tracegrad.bilinear`);
    z = MLP(s) with (LayerNorm, SiLU) on s, then (Linear, LayerNorm, SiLU) per hidden
    width. z is exactly invariant under rotations and inversion of f, and twice
    differentiable in f, so the ``gradient`` inducer may differentiate it inside the
    forward pass. ``decode_traces`` maps z to the predicted (normalized) trace labels.

    Attributes:
        irreps_in: The input irreps string.
        num_invariants: Width of z.
        num_traces: Number of decoded traces (None: no decoder).
    """

    name: ClassVar[str] = "trace_mlp"
    Config: ClassVar[type[ComponentConfig]] = TraceMLPConfig

    def __init__(self, config: TraceMLPConfig, irreps_in: str | None = None) -> None:
        """Build from options.

        Args:
            config: Validated options.
            irreps_in: Irreps overriding ``config.irreps_in`` (used by ``from_config``).
        """
        super().__init__()
        source = irreps_in or config.irreps_in
        if source is None:
            raise HamkitError(f"{self.name}: 'irreps_in' is required when built directly")
        irreps = parse_irreps(source, self.name)
        self.irreps_in = str(irreps)
        self.dim_in = irreps.dim
        self.num_traces = config.num_traces
        self.contraction = GramContraction(
            irrep_groups(irreps), config.num_scalars, config.project_channels
        )
        self.scalar_activation = nn.Sequential(nn.LayerNorm(config.num_scalars), nn.SiLU())
        self.mlp = mlp_layers([config.num_scalars, *config.hidden])
        self.num_invariants = config.hidden[-1]
        self.trace_decoder: nn.Module | None = None
        if config.num_traces is not None:
            width = config.hidden[-1]
            self.trace_decoder = nn.Sequential(
                *mlp_layers([width, width]), nn.Linear(width, config.num_traces)
            )

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "TraceMLPEncoder":
        """Build, taking the irreps from the context when the config has none.

        Args:
            config: A :class:`TraceMLPConfig`.
            context: Build context (``declared.irreps``, ``declared.num_traces``, ``dtype``).

        Returns:
            The encoder, with parameters in ``context.dtype``.
        """
        assert isinstance(config, TraceMLPConfig)
        irreps = resolve_irreps(config.irreps_in, context, cls.name)
        declared_traces = context.declared.num_traces
        if config.num_traces is None and declared_traces:
            config = config.model_copy(update={"num_traces": int(declared_traces)})
        return cls(config, irreps_in=str(irreps)).to(torch_dtype(context.dtype, cls.name))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Encode.

        Args:
            features: Equivariant features f, shape (n_items, irreps_in.dim).

        Returns:
            Invariant features z, shape (n_items, hidden[-1]).
        """
        if features.shape[-1] != self.dim_in:
            raise HamkitError(
                f"{self.name}: features have {features.shape[-1]} components, but irreps "
                f"'{self.irreps_in}' have {self.dim_in}"
            )
        scalars = self.scalar_activation(self.contraction(features))  # (n, K)
        return self.mlp(scalars)

    def decode_traces(self, invariants: torch.Tensor) -> torch.Tensor:
        """Predict the (normalized) trace labels of each item.

        Args:
            invariants: z, shape (n_items, hidden[-1]).

        Returns:
            Predicted traces, shape (n_items, num_traces).

        Raises:
            HamkitError: The encoder was built without ``num_traces``.
        """
        if self.trace_decoder is None:
            raise HamkitError(f"{self.name}: set 'num_traces' to decode traces")
        return self.trace_decoder(invariants)
