"""The inducer contract mixin, run against the ``none`` baseline."""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import InducerContract
from hamkit_plugins.inducers.identity import IdentityInducer


class TestIdentityInducerContract(InducerContract):
    check_inversion = True

    @pytest.fixture
    def inducer_factory(self):
        return lambda context: IdentityInducer.from_config(IdentityInducer.Config(), context)
