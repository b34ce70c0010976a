"""The convention contract mixin, run against every code's convention."""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import ConventionContract
from hamkit_plugins.conventions.codes import AimsConvention, OpenMXConvention, OrcaConvention, PySCFConvention


class TestConventionContract(ConventionContract):
    @pytest.fixture(params=[PySCFConvention, OrcaConvention, OpenMXConvention, AimsConvention],
                    ids=lambda cls: cls.name)
    def convention_factory(self, request):
        return lambda context: request.param.from_config(request.param.Config(), context)
