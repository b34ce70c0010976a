"""Contract tests of the ``inducer`` kind: irreps kept, equivariance preserved, rows independent.

Subclass :class:`InducerContract` and override ``inducer_factory``::

    class TestMyInducer(InducerContract):
        check_inversion = True

        @pytest.fixture
        def inducer_factory(self):
            return lambda context: MyInducer.from_config(MyInducer.Config(), context)

The factory receives a :class:`~hamkit.components.BuildContext` declaring the feature
irreps (``feature_irreps``, default
:data:`~hamkit.testing.contracts.fixtures.CONTRACT_IRREPS`) under
``declared.irreps``. The inducer is fed the invariants that ``invariants_factory``
builds from the same context (default: the parameter-free
:class:`~hamkit.testing.irreps.ReferenceInvariants`; override it to pair the inducer
with a real encoder). The ``check_*`` functions are the assertions themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

import pytest
import torch

from hamkit.components import BuildContext, Inducer
from hamkit.components.inducer import InvariantFunction
from hamkit.testing.contracts.feature_maps import (
    FeatureMapContract,
    check_declared_irreps,
    check_rows_independent,
    check_transforms,
)
from hamkit.testing.contracts.fixtures import DTYPES, stage_context
from hamkit.testing.irreps import ReferenceInvariants, random_irreps_features

MODES = ("train", "eval")
"""Training mode (autograd on), and evaluation under ``torch.no_grad()`` as the evaluator runs."""


def check_inducer_output(
    inducer: Inducer, features: torch.Tensor, invariants_of: InvariantFunction | None
) -> torch.Tensor:
    """The output has exactly the features' shape and dtype, and finite values.

    Args:
        inducer: The inducer under test.
        features: f, shape (n_items, irreps.dim).
        invariants_of: Invariants as a function of f, or None.

    Returns:
        The induced features, detached.

    Raises:
        AssertionError: Wrong type, shape, dtype or non-finite values.
    """
    assert isinstance(inducer, Inducer), f"{type(inducer).__name__} is not an Inducer"
    induced = inducer(features, invariants_of).detach()
    assert induced.shape == features.shape, (
        f"output shape {tuple(induced.shape)} differs from the features' {tuple(features.shape)}: "
        "an inducer must keep the irreps it is given"
    )
    assert induced.dtype == features.dtype, f"output is {induced.dtype}, features are {features.dtype}"
    assert torch.isfinite(induced).all(), "output has non-finite values"
    return induced


def check_inducer_without_invariants(inducer: Inducer, features: torch.Tensor) -> None:
    """An inducer declaring ``needs_invariants = False`` works without an invariant encoder.

    Args:
        inducer: The inducer under test.
        features: f, shape (n_items, irreps.dim).

    Raises:
        AssertionError: It raises or changes shape with ``invariants_of=None``.
    """
    if inducer.needs_invariants:
        return
    try:
        check_inducer_output(inducer, features, None)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - any failure breaks the declared contract
        raise AssertionError(
            f"needs_invariants is False, but the inducer fails without invariants: {error!r}"
        ) from error


class InducerContract(FeatureMapContract):
    """Contract tests of an inducer.

    Asserts: it is an :class:`~hamkit.components.Inducer` returning features of exactly the
    input shape and dtype; it declares the features' irreps as ``irreps_in`` and keeps them
    (``irreps_out``), as the assembler checks; the output transforms with the input's irreps (float64,
    ``rtol``; under inversion too when ``check_inversion``), in training mode and in
    evaluation under ``torch.no_grad()``; each output row depends on its own input row
    only; with ``needs_invariants = False`` it works without an encoder.

    Override ``inducer_factory`` (``BuildContext -> Inducer``); optionally
    ``feature_irreps`` and ``invariants_factory`` (``BuildContext -> InvariantFunction``).
    """

    @pytest.fixture
    def inducer_factory(self) -> Callable[[BuildContext], Inducer]:
        """Override: return a callable building the inducer under test from a context."""
        pytest.fail("override the inducer_factory fixture in your InducerContract subclass")

    @pytest.fixture
    def invariants_factory(self, feature_irreps) -> Callable[[BuildContext], InvariantFunction]:
        """Builds the invariants fed to the inducer (default: reference invariants)."""
        return lambda context: ReferenceInvariants(feature_irreps)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_keeps_shape_and_dtype(self, inducer_factory, invariants_factory, feature_irreps, dtype):
        context = stage_context(feature_irreps, dtype)
        features = random_irreps_features(feature_irreps, dtype=getattr(torch, dtype))
        inducer = inducer_factory(context)
        check_inducer_output(inducer, features, invariants_factory(context))
        check_inducer_without_invariants(inducer, features)

    def test_declares_kept_irreps(self, inducer_factory, feature_irreps):
        inducer = inducer_factory(stage_context(feature_irreps))
        check_declared_irreps(inducer.irreps_in, feature_irreps, "irreps_in")
        check_declared_irreps(inducer.irreps_out, feature_irreps, "irreps_out")

    @pytest.mark.parametrize("mode", MODES)
    def test_equivariant(self, inducer_factory, invariants_factory, feature_irreps, mode):
        context = stage_context(feature_irreps)
        inducer, invariants_of = inducer_factory(context).train(mode == "train"), invariants_factory(context)
        with torch.no_grad() if mode == "eval" else nullcontext():
            check_transforms(lambda f: inducer(f, invariants_of), random_irreps_features(feature_irreps),
                             feature_irreps, equivariant=True, check_inversion=self.check_inversion,
                             rtol=self.rtol)

    def test_rows_independent(self, inducer_factory, invariants_factory, feature_irreps):
        context = stage_context(feature_irreps)
        inducer, invariants_of = inducer_factory(context).eval(), invariants_factory(context)
        with torch.no_grad():
            check_rows_independent(lambda f: inducer(f, invariants_of), random_irreps_features(feature_irreps))
