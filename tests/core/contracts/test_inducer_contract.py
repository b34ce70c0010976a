"""The inducer contract: passes a correct inducer, catches broken ones (negative controls)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from hamkit.components import ComponentConfig, Inducer
from hamkit.testing.contracts import InducerContract
from hamkit.testing.contracts.fixtures import CONTRACT_IRREPS
from hamkit.testing.irreps import ReferenceInvariants

PSEUDO_SCALAR = 29  # the 1x0o entry of CONTRACT_IRREPS


class InvariantScaling(Inducer):
    """Correct: scales each row by a function of its invariants, ``f (1 + 0.1 sum z)``."""

    name: ClassVar[str] = "scaling"
    needs_invariants: ClassVar[bool] = True

    @classmethod
    def from_config(cls, config: ComponentConfig, context) -> "InvariantScaling":
        inducer = cls()
        inducer.irreps_in = context.declared.irreps
        return inducer

    def forward(self, features, invariants_of):
        return features * (1 + 0.1 * invariants_of(features).sum(dim=-1, keepdim=True))


class ReversingInducer(InvariantScaling):
    """Broken: reverses the components, so the output no longer has the input's irreps."""

    def forward(self, features, invariants_of):
        return super().forward(features, invariants_of).flip(-1)


class PseudoScalarInducer(InvariantScaling):
    """SO(3)-only: scales by the 0o pseudo-scalar, which flips sign under inversion."""

    def forward(self, features, invariants_of):
        return features * (1 + features[..., PSEUDO_SCALAR:PSEUDO_SCALAR + 1])


class TruncatingInducer(InvariantScaling):
    """Broken: drops the last component."""

    def forward(self, features, invariants_of):
        return super().forward(features, invariants_of)[..., :-1]


class CenteringInducer(InvariantScaling):
    """Equivariant but broken: subtracts the mean over the rows of the batch."""

    def forward(self, features, invariants_of):
        return features - features.mean(dim=0)


class FalselyStandalone(InvariantScaling):
    """Broken: declares that it needs no invariants, then calls them."""

    needs_invariants: ClassVar[bool] = False


class WideningInducer(InvariantScaling):
    """Broken: declares output irreps with one more scalar than its input."""

    @property
    def irreps_out(self):
        return f"{self.irreps_in}+1x0e"


class UndeclaredInducer(InvariantScaling):
    """Broken: does not declare the irreps it was built for."""

    @classmethod
    def from_config(cls, config, context):
        return cls()


def invariants_factory(context):
    return ReferenceInvariants(CONTRACT_IRREPS)


def arguments(inducer_factory, **more) -> dict:
    """The mixin tests' fixture values: this factory, the contract irreps, reference invariants."""
    return {"inducer_factory": inducer_factory, "feature_irreps": CONTRACT_IRREPS,
            "invariants_factory": invariants_factory, **more}


class TestInvariantScalingContract(InducerContract):
    """Positive control: the whole mixin passes a correct inducer."""

    check_inversion = True

    @pytest.fixture
    def inducer_factory(self, default_factory):
        return default_factory(InvariantScaling)


@pytest.mark.parametrize("test, broken, more, message", [
    (InducerContract.test_equivariant, ReversingInducer, {"mode": "train"}, "not equivariant under rotation"),
    (InducerContract.test_equivariant, ReversingInducer, {"mode": "eval"}, "not equivariant under rotation"),
    (InducerContract.test_keeps_shape_and_dtype, TruncatingInducer, {"dtype": "float64"}, "must keep the irreps"),
    (InducerContract.test_keeps_shape_and_dtype, FalselyStandalone, {"dtype": "float64"},
     "needs_invariants is False"),
    (InducerContract.test_rows_independent, CenteringInducer, {}, "rows"),
], ids=["irreps-changed-train", "irreps-changed-eval", "truncating", "false-declaration", "rows-mixed"])
def test_catches_a_broken_inducer(test, broken, more, message, default_factory):
    with pytest.raises(AssertionError, match=message):
        test(InducerContract(), **arguments(default_factory(broken), **more))


@pytest.mark.parametrize("broken, message", [
    (WideningInducer, r"irreps_out is '.*\+1x0e', the features have"),
    (UndeclaredInducer, "irreps_in is not declared"),
], ids=["widening", "undeclared"])
def test_catches_wrong_declared_irreps(broken, message, default_factory):
    with pytest.raises(AssertionError, match=message):
        InducerContract().test_declares_kept_irreps(default_factory(broken), CONTRACT_IRREPS)


def test_inversion_is_checked_only_when_asked(default_factory):
    contract = InducerContract()
    contract.test_equivariant(**arguments(default_factory(PseudoScalarInducer), mode="eval"))
    contract.check_inversion = True
    with pytest.raises(AssertionError, match="not equivariant under inversion"):
        contract.test_equivariant(**arguments(default_factory(PseudoScalarInducer), mode="eval"))
