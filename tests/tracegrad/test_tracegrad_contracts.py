"""The shipped contract mixins, run against ``trace_mlp``, ``gradient`` and ``gate``."""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import InducerContract, InvariantEncoderContract
from hamkit_plugins.tracegrad import GateInducer, GradientInducer, TraceMLPEncoder

SMALL = {"num_scalars": 16, "hidden": [16, 8]}


class TestTraceMLPContract(InvariantEncoderContract):
    """Invariant under inversion too (only 0e scalars come out of the contraction)."""

    check_inversion = True

    @pytest.fixture(params=[None, 2], ids=["exact", "projected"])
    def encoder_factory(self, request):
        config = TraceMLPEncoder.Config(**SMALL, project_channels=request.param)
        return lambda context: TraceMLPEncoder.from_config(config, context)


class TestGradientInducerContract(InducerContract):
    check_inversion = True

    @pytest.fixture(params=["norm_scaled", "residual"])
    def inducer_factory(self, request):
        config = GradientInducer.Config(combine=request.param, init_scale=1.0)
        return lambda context: GradientInducer.from_config(config, context)


class TestGradientOnTraceMLPContract(TestGradientInducerContract):
    """The recipe pairing: the gradient of the real encoder's invariants."""

    @pytest.fixture
    def invariants_factory(self):
        return lambda context: TraceMLPEncoder.from_config(TraceMLPEncoder.Config(**SMALL), context)


class TestGateInducerContract(InducerContract):
    check_inversion = True

    @pytest.fixture
    def inducer_factory(self):
        config = GateInducer.Config(hidden=[16, 8], init_scale=1.0)
        return lambda context: GateInducer.from_config(config, context)
