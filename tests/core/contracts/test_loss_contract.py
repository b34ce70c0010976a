"""The loss contract: passes a correct loss, catches broken ones (negative controls)."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from hamkit.components import ComponentConfig, Loss
from hamkit.testing.contracts import LossContract
from hamkit.testing.contracts.loss import hamiltonian_samples


class SquaredError(Loss):
    """Correct: masked mean squared error of ``"hamiltonian"``."""

    name: ClassVar[str] = "squared"

    @classmethod
    def from_config(cls, config: ComponentConfig, context) -> "SquaredError":
        return cls()

    def errors(self, prediction, target):
        """Masked squared errors, shape (n_elements,)."""
        return (prediction["hamiltonian"] - target["hamiltonian"]).square() * target["hamiltonian_mask"]

    def forward(self, prediction, target):
        return self.errors(prediction, target).sum() / target["hamiltonian_mask"].sum()


class PerElement(SquaredError):
    """Broken: returns one value per element."""

    def forward(self, prediction, target):
        return self.errors(prediction, target)


class SinglePrecision(SquaredError):
    """Broken: returns float32 for a float64 prediction."""

    def forward(self, prediction, target):
        return super().forward(prediction, target).float()


class Offset(SquaredError):
    """Minimal but not zero at a perfect prediction."""

    def forward(self, prediction, target):
        return super().forward(prediction, target) + 1.0


class Negated(SquaredError):
    """Broken: largest at a perfect prediction."""

    def forward(self, prediction, target):
        return -super().forward(prediction, target)


class Detached(SquaredError):
    """Broken: cut from the graph."""

    def forward(self, prediction, target):
        return super().forward(prediction, target).detach()


class PositionWeighted(SquaredError):
    """Broken: weights elements by their position in the batch."""

    def forward(self, prediction, target):
        errors = self.errors(prediction, target)
        return (errors * torch.arange(len(errors), dtype=errors.dtype)).mean()



class TestSquaredErrorContract(LossContract):
    """Positive control: the whole mixin passes a correct loss."""

    @pytest.fixture
    def loss_factory(self, default_factory):
        return default_factory(SquaredError)


def arguments(loss_factory) -> dict:
    """The mixin tests' fixture values: this factory and the default Hamiltonian samples."""
    return {"loss_factory": loss_factory, "loss_samples": hamiltonian_samples()}


@pytest.mark.parametrize("test, broken, message", [
    (LossContract.test_scalar_finite_dtype, PerElement, "0-d tensor"),
    (LossContract.test_scalar_finite_dtype, SinglePrecision, "float32"),
    (LossContract.test_differentiable, Detached, "differentiably"),
    (LossContract.test_independent_of_batch_order, PositionWeighted, "reordering the batch"),
], ids=["per-element", "float32", "detached", "order-dependent"])
def test_catches_a_broken_loss(test, broken, message, default_factory):
    with pytest.raises(AssertionError, match=message):
        test(LossContract(), **arguments(default_factory(broken)))


def test_zero_at_perfect_is_checked_only_when_asked(default_factory):
    contract = LossContract()
    with pytest.raises(AssertionError, match="perfect prediction is 1"):
        contract.test_minimal_at_perfect_prediction(**arguments(default_factory(Offset)))
    contract.zero_at_perfect = False
    contract.test_minimal_at_perfect_prediction(**arguments(default_factory(Offset)))
    with pytest.raises(AssertionError, match="perturbed prediction scores"):
        contract.test_minimal_at_perfect_prediction(**arguments(default_factory(Negated)))
