"""Baseline inducers for ablations (TraceGrad's gradient inducer lives with TraceGrad)."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.inducers.identity import IdentityInducer


@hookimpl
def hamkit_register_inducer(register):
    """Register ``none``."""
    register(IdentityInducer)
