"""hamkit's featurizer contract, run against ``toy_radial``.

Every component kind has such a mixin in :mod:`hamkit.testing.contracts`; a plugin ships
one test class per component it registers. This plugin registers one featurizer.
"""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import FeaturizerContract
from hamkit_toy_featurizer.radial import ToyRadialFeaturizer


class TestToyRadialContract(FeaturizerContract):
    """Irreps declared, shapes and dtypes, equivariance in float64, batches match singles."""

    @pytest.fixture
    def featurizer_factory(self):
        config = ToyRadialFeaturizer.Config(channels=4, lmax=2)
        return lambda context: ToyRadialFeaturizer.from_config(config, context)
