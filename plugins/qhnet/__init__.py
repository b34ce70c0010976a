"""QHNet backbone (Yu et al., ICML 2023) as the ``qhnet`` featurizer."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.qhnet.featurizer import QHNetConfig, QHNetFeaturizer

__all__ = ["QHNetConfig", "QHNetFeaturizer"]


@hookimpl
def hamkit_register_featurizer(register):
    """Register ``qhnet``."""
    register(QHNetFeaturizer)
