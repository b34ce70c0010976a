"""An example hamkit plugin registering the ``toy_radial`` featurizer."""

from hamkit.hookspecs import hookimpl
from hamkit_toy_featurizer.radial import ToyRadialFeaturizer


@hookimpl
def hamkit_register_featurizer(register):
    """Register ``toy_radial``."""
    register(ToyRadialFeaturizer)
