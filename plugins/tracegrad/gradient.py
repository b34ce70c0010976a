"""The ``gradient`` inducer: equivariant features from the gradient of invariants (TraceGrad's "Grad")."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field, field_validator

from hamkit.components import BuildContext, ComponentConfig, Inducer
from hamkit.components.inducer import InvariantFunction
from hamkit.errors import HamkitError
from hamkit.recipe.bounds import check_irreps_bounds
from hamkit_plugins.tracegrad.combine import CombineRule, NormScaled, ResidualScale
from hamkit_plugins.tracegrad.layout import entry_membership, parse_irreps, torch_dtype


class GradientConfig(ComponentConfig):
    """Options of the ``gradient`` inducer."""

    irreps_in: str | None = Field(
        None,
        description="e3nn irreps of the features (needed by 'norm_scaled'); default: the "
        "irreps declared upstream (context.declared.irreps).",
    )
    combine: CombineRule = Field(
        "norm_scaled",
        description="'norm_scaled': f + scale * (|f|/(|v|+eps)).detach() * v, norms per irreps "
        "entry and item (NextHAM); 'residual': f + a * v with a scalar a starting at init_scale.",
    )
    scale: float = Field(0.2, gt=0, description="Multiplier of the 'norm_scaled' rule.")
    eps: float = Field(1e-5, gt=0, description="Added to |v| in the 'norm_scaled' rule.")
    init_scale: float = Field(
        0.1, description="Initial multiplier a of the 'residual' rule (keep it small)."
    )
    learnable_scale: bool = Field(
        True, description="Train the 'residual' multiplier a (else it stays at init_scale)."
    )

    @field_validator("irreps_in")
    @classmethod
    def _irreps_bounds(cls, irreps: str | None) -> str | None:
        return irreps if irreps is None else check_irreps_bounds(irreps, "irreps_in")


class GradientInducer(Inducer):
    """TraceGrad's inducer: adds v = d(sum z)/df, equivariant because z is invariant.

    v has exactly the irreps of f: v^(l)_u = sum_w A_uw(invariants) f^(l)_w, a
    non-linear, invariant-dependent mixing of same-degree channels. The gradient is
    taken inside the forward pass: in training with ``create_graph=True`` (so the
    loss back-propagates through it: double backward, reaching both the encoder
    and whatever produced f); in evaluation on a detached copy of f under
    ``torch.enable_grad()``, so callers may wrap evaluation in ``torch.no_grad()``.
    ``torch.inference_mode()`` cannot be used: tensors created there can never
    record a graph, so the gradient cannot be taken (a clear error is raised).
    """

    name: ClassVar[str] = "gradient"
    needs_invariants: ClassVar[bool] = True
    Config: ClassVar[type[ComponentConfig]] = GradientConfig

    def __init__(self, config: GradientConfig, irreps_in: str | None = None) -> None:
        """Build from options.

        Args:
            config: Validated options.
            irreps_in: Irreps overriding ``config.irreps_in`` (used by ``from_config``).

        Raises:
            HamkitError: ``norm_scaled`` without irreps.
        """
        super().__init__()
        source = irreps_in or config.irreps_in
        self.irreps_in = str(parse_irreps(source, self.name)) if source else None
        self.combine = config.combine
        if config.combine == "norm_scaled":
            if source is None:
                raise HamkitError(
                    f"{self.name}: combine='norm_scaled' needs the feature irreps: set "
                    "'irreps_in' or build it in an induction stage (context.declared.irreps)"
                )
            membership = entry_membership(parse_irreps(source, self.name))
            self.norm_scaled = NormScaled(membership, config.scale, config.eps)
        else:
            self.residual_scale = ResidualScale(config.init_scale, config.learnable_scale)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "GradientInducer":
        """Build, taking the irreps from the context when the config has none.

        Args:
            config: A :class:`GradientConfig`.
            context: Build context (``declared.irreps``, ``dtype``).

        Returns:
            The inducer, with parameters in ``context.dtype``.
        """
        assert isinstance(config, GradientConfig)
        irreps = config.irreps_in or context.declared.irreps
        inducer = cls(config, irreps_in=str(irreps) if irreps is not None else None)
        return inducer.to(torch_dtype(context.dtype, cls.name))

    def induced_gradient(
        self, features: torch.Tensor, invariants_of: InvariantFunction
    ) -> torch.Tensor:
        """v = d(sum z)/df, connected to the graph only when training with grad enabled.

        Args:
            features: f, shape (n_items, irreps.dim).
            invariants_of: f -> z, shape (n_items, n_invariants); must be invariant
                and twice differentiable.

        Returns:
            v, same shape as f.
        """
        create_graph = self.training and torch.is_grad_enabled()
        if create_graph and features.requires_grad:
            wrt = features  # gradients flow to the backbone through f as well
        else:
            wrt = features.detach().requires_grad_(True)
        with torch.enable_grad():
            invariants = invariants_of(wrt)
            (gradient,) = torch.autograd.grad(
                invariants.sum(), wrt, create_graph=create_graph, allow_unused=True
            )
        if gradient is None:  # z does not depend on f at all
            return torch.zeros_like(features)
        return gradient

    def forward(
        self, features: torch.Tensor, invariants_of: InvariantFunction | None
    ) -> torch.Tensor:
        """Induce.

        Args:
            features: Equivariant features f, shape (n_items, irreps.dim).
            invariants_of: The invariant encoder as a function of f.

        Returns:
            f + induced part, same shape and irreps as f.

        Raises:
            HamkitError: No invariant encoder, or called under ``torch.inference_mode()``.
        """
        if invariants_of is None:
            raise HamkitError(
                f"inducer '{self.name}' needs an invariant encoder (e.g. 'trace_mlp') in the recipe"
            )
        if torch.is_inference_mode_enabled():
            raise HamkitError(
                f"inducer '{self.name}' differentiates the invariants inside the forward pass, "
                "which torch.inference_mode() forbids: evaluate under torch.no_grad() instead"
            )
        update = self.induced_gradient(features, invariants_of)
        if self.combine == "norm_scaled":
            return features + self.norm_scaled(features, update)
        return features + self.residual_scale(update)
