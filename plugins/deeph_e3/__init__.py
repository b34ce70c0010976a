"""DeepH-E3 backbone (Gong et al., Nat. Commun. 2023) as the ``deeph_e3`` featurizer."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.deeph_e3.featurizer import DeepHE3Config, DeepHE3Featurizer

__all__ = ["DeepHE3Config", "DeepHE3Featurizer"]


@hookimpl
def hamkit_register_featurizer(register):
    """Register ``deeph_e3``."""
    register(DeepHE3Featurizer)
