"""Checks shared by the contracts of components that map feature rows (encoders, inducers).

Both kinds take features f of shape (n_items, irreps.dim) and act on each row on its own;
an invariant encoder's output must not change when f is rotated, an inducer's output must
rotate with f. Failures raise ``AssertionError`` with the worst transformation named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pytest
import torch

from hamkit.model.contracts import same_irreps
from hamkit.testing.contracts.fixtures import CONTRACT_IRREPS
from hamkit.testing.irreps import irreps_representation, random_orthogonal

FeatureMap = Callable[[torch.Tensor], torch.Tensor]
"""Features (n_items, dim_in) -> outputs (n_items, dim_out)."""


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |actual - expected| / max |expected|`` (the scale floored at 1e-300)."""
    scale = max(float(expected.abs().max()) if expected.numel() else 0.0, 1e-300)
    return float((actual - expected).abs().max()) / scale if actual.numel() else 0.0


def check_declared_irreps(declared: str | None, irreps: str, what: str) -> None:
    """A component declares ``irreps`` (as the assembler checks it, by layout).

    Args:
        declared: What the component declares (e.g. its ``irreps_in``), None if nothing.
        irreps: What it should declare: the irreps of the features in its context.
        what: The attribute, for the message.

    Raises:
        AssertionError: Nothing declared, or other irreps.
    """
    assert declared is not None, f"{what} is not declared (set it when built, from context.declared.irreps)"
    assert same_irreps(declared, irreps, what), f"{what} is '{declared}', the features have '{irreps}'"


def check_transforms(
    function: FeatureMap,
    features: torch.Tensor,
    irreps: str,
    *,
    equivariant: bool,
    n_rotations: int = 3,
    check_inversion: bool = False,
    seed: int = 0,
    rtol: float = 1e-10,
) -> dict[str, float]:
    """Check ``function(f D^T)`` against ``function(f) D^T`` (or ``function(f)`` when invariant).

    Args:
        function: The feature map, in float64.
        features: f, shape (n_items, irreps.dim), float64.
        irreps: e3nn irreps string of f (and of the output when ``equivariant``).
        equivariant: The output transforms like f; False: it must not change.
        n_rotations: Haar-random proper rotations to try.
        check_inversion: Also try improper matrices ``-R`` (O(3) components only).
        seed: Seed of the random matrices.
        rtol: Largest accepted relative error.

    Returns:
        ``{"rotation 0": error, ..., "inversion": error}``.

    Raises:
        AssertionError: Some relative error exceeds ``rtol``.
    """
    rng = np.random.default_rng(seed)
    matrices = [(f"rotation {k}", random_orthogonal(rng)) for k in range(n_rotations)]
    if check_inversion:
        matrices.append(("inversion", random_orthogonal(rng, improper=True)))
    reference = function(features).detach()
    errors: dict[str, float] = {}
    for label, matrix in matrices:
        d = irreps_representation(irreps, matrix).to(features.dtype)
        expected = reference @ d.T if equivariant else reference
        errors[label] = relative_error(function(features @ d.T).detach(), expected)
    worst = max(errors, key=lambda label: errors[label])
    what = "equivariant" if equivariant else "invariant"
    assert errors[worst] <= rtol, (
        f"output not {what} under {worst} of irreps '{irreps}': relative error "
        f"{errors[worst]:.3e} > {rtol:.1e} (all: {errors})"
    )
    return errors


def check_rows_independent(
    function: FeatureMap, features: torch.Tensor, seed: int = 0, rtol: float = 1e-12
) -> None:
    """Each output row depends on its own input row only: reordering or dropping rows commutes.

    Args:
        function: The feature map.
        features: f, shape (n_items, dim), at least two rows.
        seed: Seed of the row permutation.
        rtol: Largest accepted relative error.

    Raises:
        AssertionError: Permuted or truncated input gives other rows.
    """
    reference = function(features).detach()
    permutation = torch.from_numpy(np.random.default_rng(seed).permutation(len(features)))
    error = relative_error(function(features[permutation]).detach(), reference[permutation])
    assert error <= rtol, f"output rows depend on the order of the input rows (relative error {error:.3e})"
    error = relative_error(function(features[:1]).detach(), reference[:1])
    assert error <= rtol, f"the output of row 0 depends on the other rows (relative error {error:.3e})"


class FeatureMapContract:
    """What the encoder and inducer contracts share: the feature irreps and the tolerances."""

    check_inversion: ClassVar[bool] = False
    """Also require the transformation law under inversion (O(3) components)."""
    rtol: ClassVar[float] = 1e-10
    """Relative tolerance of the float64 transformation checks."""

    @pytest.fixture
    def feature_irreps(self) -> str:
        """e3nn irreps of the features the component is tested on (default: both parities)."""
        return CONTRACT_IRREPS
