"""The dataset contract mixin, run against the ``hamkit`` store on every embedded set."""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import DatasetContract
from hamkit_plugins.datasets import HamkitStoreDataset


class TestHamkitStoreContract(DatasetContract):
    """Molecules (water, qm9_mini) and periodic H(R) (materials_2d), some through ``limit``."""

    @pytest.fixture(params=[("embedded:water", None), ("embedded:qm9_mini", 3), ("embedded:materials_2d", 2)],
                    ids=lambda param: param[0].split(":")[1])
    def dataset(self, request):
        path, limit = request.param
        dataset = HamkitStoreDataset(HamkitStoreDataset.Config(path=path, limit=limit))
        yield dataset
        dataset.close()
