"""The loss contract mixin, run against ``h_mse``, ``h_mae`` and every ``trace`` setting."""

from __future__ import annotations

import pytest
import torch

from hamkit.physics.traces import normalize_padded_traces
from hamkit.testing.contracts import LossContract, LossSample
from hamkit.testing.contracts.loss import hamiltonian_samples
from hamkit_plugins.losses import HamiltonianMAE, HamiltonianMSE, TraceLoss


class TestElementwiseLossContract(LossContract):
    @pytest.fixture(params=[HamiltonianMSE, HamiltonianMAE], ids=lambda cls: cls.name)
    def loss_factory(self, request):
        return lambda context: request.param.from_config(request.param.Config(), context)


def trace_samples(normalization: str, seed: int = 1) -> list[LossSample]:
    """Hamiltonian samples with padded node and pair trace labels; the perfect prediction holds
    the normalized labels."""
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for sample, (atoms, pairs) in zip(hamiltonian_samples(), [(3, 6), (5, 20), (2, 2)]):
        perfect, target = dict(sample.perfect), dict(sample.target)
        for stage, items in (("node", atoms), ("pair", pairs)):
            labels = torch.rand(items, 4, generator=generator, dtype=torch.float64) + 0.1
            mask = torch.ones(items, 4, dtype=torch.float64)
            mask[::2, 3] = 0.0  # padded sub-blocks
            target[f"{stage}_trace"], target[f"{stage}_trace_mask"] = labels, mask
            perfect[f"{stage}_traces"] = normalize_padded_traces(labels, mask, normalization)
        samples.append(LossSample(perfect, target))
    return samples


class TestTraceLossContract(LossContract):
    @pytest.fixture(params=["none", "layer_norm", "log"])
    def normalization(self, request):
        return request.param

    @pytest.fixture(params=[{"kind": "l1", "balance": "auto"}, {"kind": "mse", "balance": "none"},
                            {"kind": "l1", "balance": "auto", "reference": "h_mae"}],
                    ids=["l1-auto", "mse-plain", "l1-auto-mae"])
    def loss_factory(self, request, normalization):
        config = TraceLoss.Config(normalization=normalization, **request.param)
        return lambda context: TraceLoss.from_config(config, context)

    @pytest.fixture
    def loss_samples(self, normalization):
        return trace_samples(normalization)
