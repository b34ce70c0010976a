"""Contract tests of the ``loss`` kind: scalar, finite, minimal when perfect, differentiable,
independent of the order of the structures in a batch.

Subclass :class:`LossContract` and override ``loss_factory``; losses reading entries other
than ``"hamiltonian"`` override ``loss_samples`` too::

    class TestMyLoss(LossContract):
        @pytest.fixture
        def loss_factory(self):
            return lambda context: MyLoss.from_config(MyLoss.Config(), context)

A :class:`LossSample` is one structure's target with its perfect prediction; a batch is the
samples' tensors concatenated along the first axis (:func:`collate_samples`), as the
trainer's batches are. The ``check_*`` functions are the assertions themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from hamkit.components import BuildContext, Loss
from hamkit.testing.contracts.fixtures import contract_context

Tensors = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class LossSample:
    """One structure's labels and the prediction that matches them exactly.

    Attributes:
        perfect: Prediction entries, e.g. ``"hamiltonian"`` (n_elements,), equal to the
            target in the sense of the loss (the loss is minimal there).
        target: Label entries, e.g. ``"hamiltonian"`` (n_elements,) and
            ``"hamiltonian_mask"`` (n_elements,).
    """

    perfect: dict[str, torch.Tensor]
    target: dict[str, torch.Tensor]


def collate_samples(samples: Sequence[LossSample]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Batch samples: every entry concatenated along its first axis, in the given order.

    Returns:
        ``(perfect prediction, target)`` of the batch.
    """
    return (
        {key: torch.cat([s.perfect[key] for s in samples]) for key in samples[0].perfect},
        {key: torch.cat([s.target[key] for s in samples]) for key in samples[0].target},
    )


def perturbed(prediction: Tensors, seed: int = 0, scale: float = 0.3) -> dict[str, torch.Tensor]:
    """The prediction with Gaussian noise (standard deviation ``scale``) on every float entry."""
    generator = torch.Generator().manual_seed(seed)
    return {
        key: value + scale * torch.randn(value.shape, generator=generator, dtype=value.dtype)
        if value.is_floating_point() else value
        for key, value in prediction.items()
    }


def check_loss_value(loss: Loss, prediction: Tensors, target: Tensors) -> torch.Tensor:
    """The loss is a finite 0-d tensor of the prediction's float dtype.

    Returns:
        The value.

    Raises:
        AssertionError: Wrong type, shape, dtype, or non-finite.
    """
    assert isinstance(loss, Loss), f"{type(loss).__name__} is not a Loss"
    value = loss(prediction, target)
    assert isinstance(value, torch.Tensor) and value.shape == (), (
        f"the loss must be a 0-d tensor, got shape {tuple(getattr(value, 'shape', ()))}"
    )
    dtype = next(v.dtype for v in prediction.values() if v.is_floating_point())
    assert value.dtype == dtype, f"the loss is {value.dtype}, the prediction {dtype}"
    assert torch.isfinite(value), f"the loss is {float(value)}"
    return value


def check_loss_minimal_at_perfect(
    loss: Loss, prediction: Tensors, target: Tensors, *, zero: bool = True, atol: float = 1e-12, n_trials: int = 4
) -> float:
    """The loss of the perfect prediction is zero (or, with ``zero=False``, no larger than
    that of any perturbed prediction).

    Args:
        loss: The loss under test.
        prediction: The perfect prediction of ``target``.
        target: The labels.
        zero: Require ``|loss(perfect)| <= atol``.
        atol: Tolerance of the zero check.
        n_trials: Random perturbations compared with the perfect prediction.

    Returns:
        The loss of the perfect prediction.

    Raises:
        AssertionError: It is not zero (when required) or some perturbation is lower.
    """
    with torch.no_grad():
        best = float(loss(prediction, target))
        assert not zero or abs(best) <= atol, f"the loss of a perfect prediction is {best:.3e}, not 0"
        for trial in range(n_trials):
            worse = float(loss(perturbed(prediction, seed=trial), target))
            assert worse > best, f"a perturbed prediction scores {worse:.3e} <= the perfect {best:.3e}"
    return best


def check_loss_differentiable(loss: Loss, prediction: Tensors, target: Tensors) -> None:
    """Gradients reach the prediction: finite everywhere, non-zero somewhere (at a perturbed one).

    Raises:
        AssertionError: No float entry gets a gradient, one is non-finite, or all vanish.
    """
    leaves = {key: value.detach().clone().requires_grad_(value.is_floating_point())
              for key, value in perturbed(prediction).items()}
    value = loss(leaves, target)
    assert value.requires_grad, "the loss does not depend differentiably on the prediction"
    value.backward()
    gradients = {key: leaf.grad for key, leaf in leaves.items() if leaf.grad is not None}
    assert gradients, "no prediction entry receives a gradient"
    for key, gradient in gradients.items():
        assert torch.isfinite(gradient).all(), f"the gradient of '{key}' has non-finite values"
    assert any(g.abs().max() > 0 for g in gradients.values()), "every gradient vanishes"


def check_loss_batch_order(loss: Loss, samples: Sequence[LossSample], rtol: float = 1e-12) -> None:
    """The loss of a batch does not depend on the order of its structures (perturbed predictions).

    Raises:
        AssertionError: The batch in reverse order (or rotated by one) scores differently.
    """
    assert len(samples) >= 2, "give at least two samples"
    noisy = [LossSample(perturbed(s.perfect, seed=k), s.target) for k, s in enumerate(samples)]
    with torch.no_grad():
        reference = float(loss(*collate_samples(noisy)))
        for order in (noisy[::-1], noisy[1:] + noisy[:1]):
            value = float(loss(*collate_samples(order)))
            error = abs(value - reference) / max(abs(reference), 1e-300)
            assert error <= rtol, f"reordering the batch changes the loss from {reference:.6e} to {value:.6e}"


def hamiltonian_samples(sizes: Sequence[int] = (9, 14, 5), seed: int = 0) -> list[LossSample]:
    """Samples with ``"hamiltonian"`` entries and a 0/1 ``"hamiltonian_mask"`` (some zeros).

    Args:
        sizes: Number of packed elements of each structure.
        seed: Seed of the random labels.

    Returns:
        One float64 sample per size.
    """
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for size in sizes:
        labels = torch.randn(size, generator=generator, dtype=torch.float64)
        mask = (torch.rand(size, generator=generator) > 0.2).to(torch.float64)
        mask[0] = 1.0
        samples.append(LossSample({"hamiltonian": labels.clone()},
                                  {"hamiltonian": labels, "hamiltonian_mask": mask}))
    return samples


class LossContract:
    """Contract tests of a loss term.

    Asserts on batches of :class:`LossSample`: the value is a finite 0-d tensor of the
    prediction's dtype; the perfect prediction scores 0 (or, with ``zero_at_perfect =
    False``, no more than any perturbed one); gradients reach the prediction and are finite;
    the value does not depend on the order of the structures in the batch.

    Override ``loss_factory`` (``BuildContext -> Loss``); ``loss_samples`` for losses on
    other entries than ``"hamiltonian"``.
    """

    zero_at_perfect: ClassVar[bool] = True
    """The loss of a perfect prediction is 0 (else only minimal)."""

    @pytest.fixture
    def loss_factory(self) -> Callable[[BuildContext], Loss]:
        """Override: return a callable building the loss under test from a context."""
        pytest.fail("override the loss_factory fixture in your LossContract subclass")

    @pytest.fixture
    def loss_samples(self) -> list[LossSample]:
        """Structures' labels and perfect predictions (default: :func:`hamiltonian_samples`)."""
        return hamiltonian_samples()

    def test_scalar_finite_dtype(self, loss_factory, loss_samples):
        prediction, target = collate_samples(loss_samples)
        check_loss_value(loss_factory(contract_context()), perturbed(prediction), target)

    def test_minimal_at_perfect_prediction(self, loss_factory, loss_samples):
        check_loss_minimal_at_perfect(loss_factory(contract_context()), *collate_samples(loss_samples),
                                      zero=self.zero_at_perfect)

    def test_differentiable(self, loss_factory, loss_samples):
        check_loss_differentiable(loss_factory(contract_context()), *collate_samples(loss_samples))

    def test_independent_of_batch_order(self, loss_factory, loss_samples):
        check_loss_batch_order(loss_factory(contract_context()), loss_samples)
