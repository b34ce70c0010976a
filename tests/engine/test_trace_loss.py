"""The trace loss: normalized labels, masks, auto balance."""

from __future__ import annotations

import pytest
import torch

from hamkit.errors import HamkitError
from hamkit_plugins.losses.trace import TraceLoss, TraceLossConfig


def batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.rand(4, 3, generator=generator, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.float64)
    target = {"node_trace": labels, "node_trace_mask": mask,
              "hamiltonian": torch.rand(10, generator=generator, dtype=torch.float64)}
    prediction = {"node_traces": torch.rand(4, 3, generator=generator, dtype=torch.float64),
                  "hamiltonian": torch.rand(10, generator=generator, dtype=torch.float64)}
    return prediction, target


def test_plain_l1_on_unnormalized_labels_counts_only_masked_entries():
    prediction, target = batch()
    loss = TraceLoss(TraceLossConfig(balance="none", normalization="none"))
    mask = target["node_trace_mask"]
    expected = ((prediction["node_traces"] - target["node_trace"]).abs() * mask).sum() / mask.sum()
    assert torch.allclose(loss(prediction, target), expected)
    prediction["node_traces"] = prediction["node_traces"] + 100.0 * (1 - mask)  # padded entries
    assert torch.allclose(loss(prediction, target), expected)


def test_auto_balance_equals_h_loss_with_trace_gradient():
    prediction, target = batch()
    prediction["node_traces"].requires_grad_(True)
    loss = TraceLoss(TraceLossConfig())(prediction, target)
    h_mse = (prediction["hamiltonian"] - target["hamiltonian"]).square().mean()
    assert torch.allclose(loss, h_mse)
    loss.backward()
    assert prediction["node_traces"].grad.abs().sum() > 0


def test_layer_norm_labels_have_zero_mean_per_row():
    from hamkit.physics.traces import normalize_padded_traces

    _, target = batch()
    normed = normalize_padded_traces(target["node_trace"], target["node_trace_mask"], "layer_norm")
    mask = target["node_trace_mask"]
    rows = (normed * mask).sum(-1) / mask.sum(-1)
    assert torch.allclose(rows, torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.equal(normed * (1 - mask), torch.zeros_like(normed))


def test_missing_predicted_traces_is_a_clear_error():
    prediction, target = batch()
    del prediction["node_traces"]
    with pytest.raises(HamkitError, match="invariant encoder"):
        TraceLoss(TraceLossConfig())(prediction, target)
