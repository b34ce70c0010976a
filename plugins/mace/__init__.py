"""MACE (mace-torch) as the ``mace`` featurizer, with self and pair output layers.

Importing this package does not import mace: the featurizer imports it when it is built.
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.mace.featurizer import MACEConfig, MACEFeaturizer, MACEState

__all__ = ["MACEConfig", "MACEFeaturizer", "MACEState"]


@hookimpl
def hamkit_register_featurizer(register):
    """Register ``mace``."""
    register(MACEFeaturizer)
