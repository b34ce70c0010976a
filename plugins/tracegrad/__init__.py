"""TraceGrad (arXiv:2405.05722): the ``trace_mlp`` invariant encoder, the ``gradient``
inducer, and the ``gate`` inducer baseline for ablations."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.tracegrad.encoder import TraceMLPEncoder
from hamkit_plugins.tracegrad.gate import GateInducer
from hamkit_plugins.tracegrad.gradient import GradientInducer

__all__ = ["GateInducer", "GradientInducer", "TraceMLPEncoder"]


@hookimpl
def hamkit_register_invariant_encoder(register):
    """Register ``trace_mlp``."""
    register(TraceMLPEncoder)


@hookimpl
def hamkit_register_inducer(register):
    """Register ``gradient`` and ``gate``."""
    register(GradientInducer)
    register(GateInducer)
