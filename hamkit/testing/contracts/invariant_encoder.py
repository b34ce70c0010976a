"""Contract tests of the ``invariant_encoder`` kind: declared width, dtype, invariance, rows.

Subclass :class:`InvariantEncoderContract` and override ``encoder_factory``::

    class TestMyEncoder(InvariantEncoderContract):
        check_inversion = True  # z is invariant under inversion too

        @pytest.fixture
        def encoder_factory(self):
            return lambda context: MyEncoder.from_config(MyEncoder.Config(), context)

The factory receives a :class:`~hamkit.components.BuildContext` whose
``declared.irreps`` holds the feature irreps (``feature_irreps``, default
:data:`~hamkit.testing.contracts.fixtures.CONTRACT_IRREPS`) and whose ``dtype`` is the
parameter dtype. The ``check_*`` functions are the assertions themselves, usable on
their own.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from hamkit.components import BuildContext, InvariantEncoder
from hamkit.testing.contracts.feature_maps import (
    FeatureMapContract,
    check_declared_irreps,
    check_rows_independent,
    check_transforms,
)
from hamkit.testing.contracts.fixtures import DTYPES, stage_context
from hamkit.testing.irreps import random_irreps_features


def check_encoder_output(encoder: InvariantEncoder, features: torch.Tensor) -> torch.Tensor:
    """The output has the declared width, the features' dtype and finite values.

    Args:
        encoder: The encoder under test.
        features: f, shape (n_items, irreps.dim).

    Returns:
        z, shape (n_items, encoder.num_invariants).

    Raises:
        AssertionError: Wrong type, width, dtype or non-finite values.
    """
    assert isinstance(encoder, InvariantEncoder), f"{type(encoder).__name__} is not an InvariantEncoder"
    width = encoder.num_invariants
    assert isinstance(width, int) and width > 0, f"num_invariants must be a positive int, got {width!r}"
    with torch.no_grad():
        invariants = encoder(features)
    assert invariants.shape == (len(features), width), (
        f"output shape {tuple(invariants.shape)}, expected ({len(features)}, num_invariants={width})"
    )
    assert invariants.dtype == features.dtype, f"output is {invariants.dtype}, features are {features.dtype}"
    assert torch.isfinite(invariants).all(), "output has non-finite values"
    return invariants


def check_encoder_differentiable(encoder: InvariantEncoder, features: torch.Tensor) -> torch.Tensor:
    """z is differentiable in f (gradient inducers differentiate it): finite, non-zero gradient.

    Args:
        encoder: The encoder under test.
        features: f, shape (n_items, irreps.dim).

    Returns:
        d(sum z)/df, same shape as f.

    Raises:
        AssertionError: No gradient, a non-finite one, or one that vanishes everywhere.
    """
    wrt = features.detach().clone().requires_grad_(True)
    invariants = encoder(wrt)
    assert invariants.requires_grad, "the output does not depend differentiably on the features"
    (gradient,) = torch.autograd.grad(invariants.sum(), wrt, allow_unused=True)
    assert gradient is not None, "the output does not depend on the features"
    assert torch.isfinite(gradient).all(), "d(sum z)/df has non-finite values"
    assert gradient.abs().max() > 0, "d(sum z)/df vanishes everywhere"
    return gradient


class InvariantEncoderContract(FeatureMapContract):
    """Contract tests of an invariant encoder.

    Asserts: it is an :class:`~hamkit.components.InvariantEncoder` whose output has the
    declared width ``num_invariants`` and the parameter dtype; it declares the features'
    irreps as ``irreps_in`` (what the assembler checks); z is unchanged when f
    rotates (float64, ``rtol``; under inversion too when ``check_inversion``); each row
    of z depends on its own row of f only; z is differentiable in f.

    Override ``encoder_factory`` (``BuildContext -> InvariantEncoder``); optionally
    ``feature_irreps``.
    """

    @pytest.fixture
    def encoder_factory(self) -> Callable[[BuildContext], InvariantEncoder]:
        """Override: return a callable building the encoder under test from a context."""
        pytest.fail("override the encoder_factory fixture in your InvariantEncoderContract subclass")

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_declared_width_and_dtype(self, encoder_factory, feature_irreps, dtype):
        encoder = encoder_factory(stage_context(feature_irreps, dtype))
        check_encoder_output(encoder, random_irreps_features(feature_irreps, dtype=getattr(torch, dtype)))

    def test_declares_its_input_irreps(self, encoder_factory, feature_irreps):
        encoder = encoder_factory(stage_context(feature_irreps))
        check_declared_irreps(encoder.irreps_in, feature_irreps, "irreps_in")

    def test_invariant(self, encoder_factory, feature_irreps):
        encoder = encoder_factory(stage_context(feature_irreps)).eval()
        with torch.no_grad():
            check_transforms(encoder, random_irreps_features(feature_irreps), feature_irreps,
                             equivariant=False, check_inversion=self.check_inversion, rtol=self.rtol)

    def test_rows_independent(self, encoder_factory, feature_irreps):
        encoder = encoder_factory(stage_context(feature_irreps)).eval()
        with torch.no_grad():
            check_rows_independent(encoder, random_irreps_features(feature_irreps))

    def test_differentiable(self, encoder_factory, feature_irreps):
        encoder = encoder_factory(stage_context(feature_irreps))
        check_encoder_differentiable(encoder, random_irreps_features(feature_irreps))
