"""The invariant-encoder contract: passes a correct encoder, catches broken ones (negative controls)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import nn

from hamkit.components import ComponentConfig, InvariantEncoder
from hamkit.testing.contracts import InvariantEncoderContract
from hamkit.testing.contracts.fixtures import CONTRACT_IRREPS
from hamkit.testing.irreps import ReferenceInvariants

FIRST_VECTOR = 4  # first component of the 3x1o entry of CONTRACT_IRREPS
PSEUDO_SCALAR = 29  # the 1x0o entry of CONTRACT_IRREPS


class NormEncoder(InvariantEncoder):
    """Correct: scaled reference invariants (squared channel norms and 0e scalars)."""

    name: ClassVar[str] = "norms"

    def __init__(self, irreps: str, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.irreps_in = irreps
        self.invariants = ReferenceInvariants(irreps)
        self.num_invariants = self.invariants.width
        self.scale = nn.Parameter(torch.ones((), dtype=dtype))

    @classmethod
    def from_config(cls, config: ComponentConfig, context) -> "NormEncoder":
        return cls(context.declared.irreps, getattr(torch, context.dtype))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scale * self.invariants(features)


class LeakyEncoder(NormEncoder):
    """Broken: adds a raw vector component, which rotates."""

    def forward(self, features):
        return super().forward(features) + features[..., FIRST_VECTOR:FIRST_VECTOR + 1]


class PseudoScalarEncoder(NormEncoder):
    """SO(3)-only: adds the raw 0o pseudo-scalar, which flips sign under inversion."""

    def forward(self, features):
        return super().forward(features) + features[..., PSEUDO_SCALAR:PSEUDO_SCALAR + 1]


class WrongWidthEncoder(NormEncoder):
    """Broken: declares one invariant more than it returns."""

    def __init__(self, irreps, dtype=torch.float64):
        super().__init__(irreps, dtype)
        self.num_invariants += 1


class Float64Encoder(NormEncoder):
    """Broken: ignores the context's dtype."""

    def forward(self, features):
        return super().forward(features.double())


class RowMixingEncoder(NormEncoder):
    """Broken: every row sees the mean over the batch."""

    def forward(self, features):
        invariants = super().forward(features)
        return invariants + invariants.mean(dim=0)


class ConstantEncoder(NormEncoder):
    """Broken: does not depend on the features at all."""

    def forward(self, features):
        return self.scale * torch.ones(len(features), self.num_invariants, dtype=features.dtype)



class UndeclaredEncoder(NormEncoder):
    """Broken: does not declare the irreps it was built for."""

    def __init__(self, irreps, dtype=torch.float64):
        super().__init__(irreps, dtype)
        self.irreps_in = None


class TestNormEncoderContract(InvariantEncoderContract):
    """Positive control: the whole mixin passes a correct encoder."""

    check_inversion = True

    @pytest.fixture
    def encoder_factory(self, default_factory):
        return default_factory(NormEncoder)


def arguments(encoder_factory, **more) -> dict:
    """The mixin tests' fixture values: this factory and the contract irreps."""
    return {"encoder_factory": encoder_factory, "feature_irreps": CONTRACT_IRREPS, **more}


@pytest.mark.parametrize("test, broken, more, message", [
    (InvariantEncoderContract.test_invariant, LeakyEncoder, {}, "not invariant under rotation"),
    (InvariantEncoderContract.test_declared_width_and_dtype, WrongWidthEncoder, {"dtype": "float64"},
     "num_invariants"),
    (InvariantEncoderContract.test_declared_width_and_dtype, Float64Encoder, {"dtype": "float32"},
     "output is torch.float64"),
    (InvariantEncoderContract.test_rows_independent, RowMixingEncoder, {}, "rows"),
    (InvariantEncoderContract.test_differentiable, ConstantEncoder, {}, "does not depend on the features"),
    (InvariantEncoderContract.test_declares_its_input_irreps, UndeclaredEncoder, {}, "irreps_in is not declared"),
], ids=["rotating", "wrong-width", "wrong-dtype", "rows-mixed", "constant", "undeclared-irreps"])
def test_catches_a_broken_encoder(test, broken, more, message, default_factory):
    with pytest.raises(AssertionError, match=message):
        test(InvariantEncoderContract(), **arguments(default_factory(broken), **more))


def test_inversion_is_checked_only_when_asked(default_factory):
    contract = InvariantEncoderContract()
    contract.test_invariant(**arguments(default_factory(PseudoScalarEncoder)))
    contract.check_inversion = True
    with pytest.raises(AssertionError, match="not invariant under inversion"):
        contract.test_invariant(**arguments(default_factory(PseudoScalarEncoder)))
