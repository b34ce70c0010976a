"""An induction stage encodes its features once in training (z shared by inducer and traces)."""

from __future__ import annotations

import torch

from e3nn import o3

from hamkit.components import BuildContext, Declared
from hamkit.model.assembly import InductionStage
from hamkit_plugins.tracegrad.encoder import TraceMLPConfig, TraceMLPEncoder
from hamkit_plugins.tracegrad.gradient import GradientInducer

IRREPS = "4x0e+2x1o+2x2e"


def stage_and_counter():
    context = BuildContext(dtype="float64", declared=Declared(irreps=IRREPS, num_traces=5))
    encoder = TraceMLPEncoder.from_config(TraceMLPConfig(num_scalars=8, hidden=[8]), context)
    inducer = GradientInducer.from_config(GradientInducer.Config(), context)
    calls = []
    encoder.register_forward_hook(lambda module, args, output: calls.append(args[0]))
    return InductionStage(encoder, inducer), encoder, calls


def test_training_encodes_once_and_traces_match_a_separate_pass():
    torch.manual_seed(0)
    stage, encoder, calls = stage_and_counter()
    features = torch.randn(3, o3.Irreps(IRREPS).dim, dtype=torch.float64, requires_grad=True)
    stage.train()
    _, traces = stage(features)
    assert len(calls) == 1
    assert torch.allclose(traces, encoder.decode_traces(encoder(features.detach())), atol=1e-12)
    traces.sum().backward()
    assert features.grad is not None


def test_evaluation_under_no_grad_encodes_again():
    stage, _, calls = stage_and_counter()
    features = torch.randn(3, o3.Irreps(IRREPS).dim, dtype=torch.float64)
    stage.eval()
    with torch.no_grad():
        induced, traces = stage(features)
    assert len(calls) == 2 and traces.shape == (3, 5) and induced.shape == features.shape
