"""Contract test mixins, one per component kind (pytest; imported on demand).

Subclass a mixin in a test module under a ``Test*`` name and override its factory fixture;
pytest then runs every contract test against your component::

    from hamkit.testing.contracts import FeaturizerContract

    class TestMyBackbone(FeaturizerContract):
        @pytest.fixture
        def featurizer_factory(self):
            return lambda context: MyBackbone.from_config(MyBackbone.Config(width=4), context)

One mixin per kind, with the fixture to override:

* ``featurizer``: :class:`FeaturizerContract`, ``featurizer_factory``;
* ``invariant_encoder``: :class:`InvariantEncoderContract`, ``encoder_factory``;
* ``inducer``: :class:`InducerContract`, ``inducer_factory``;
* ``head``: :class:`HeadContract`, ``head_factory``;
* ``loss``: :class:`LossContract`, ``loss_factory`` (and ``loss_samples``);
* ``dataset``: :class:`DatasetContract`, ``dataset``;
* ``convention``: :class:`ConventionContract`, ``convention_factory``.

Factories receive a :class:`~hamkit.components.BuildContext` as the assembler would build
it (species, basis, dtype and what upstream components declared) and return the component.
Each kind's module also exposes its assertions as plain ``check_*`` functions.
"""

from hamkit.testing.contracts.convention import ConventionContract
from hamkit.testing.contracts.dataset import DatasetContract
from hamkit.testing.contracts.featurizer import FeaturizerContract
from hamkit.testing.contracts.head import HeadContract
from hamkit.testing.contracts.inducer import InducerContract
from hamkit.testing.contracts.invariant_encoder import InvariantEncoderContract
from hamkit.testing.contracts.loss import LossContract, LossSample

__all__ = [
    "ConventionContract",
    "DatasetContract",
    "FeaturizerContract",
    "HeadContract",
    "InducerContract",
    "InvariantEncoderContract",
    "LossContract",
    "LossSample",
]
