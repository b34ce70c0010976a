"""The shipped contract mixins, run against qhnet and cg_expansion."""

from __future__ import annotations

import pytest

from hamkit.testing.contracts import FeaturizerContract, HeadContract
from hamkit_plugins.heads import CGExpansionHead
from hamkit_plugins.qhnet import QHNetFeaturizer

from tests.model.tiny_qhnet import TINY


def _qhnet(context):
    return QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**TINY), context)


class TestQHNetFeaturizerContract(FeaturizerContract):
    @pytest.fixture
    def featurizer_factory(self):
        return _qhnet


class TestCGExpansionHeadContract(HeadContract):
    """Fed by the parameter-free reference features."""

    @pytest.fixture
    def head_factory(self):
        return lambda context: CGExpansionHead.from_config(CGExpansionHead.Config(), context)


class TestCGExpansionOnQHNetContract(TestCGExpansionHeadContract):
    """The same head contract with qhnet features."""

    @pytest.fixture
    def featurizer_factory(self):
        return _qhnet
