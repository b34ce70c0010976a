"""The component contracts, one small module per kind, and their shared base."""

from hamkit.components.base import BuildContext, Component, ComponentConfig
from hamkit.components.convention import Convention
from hamkit.components.dataset import Dataset
from hamkit.components.declared import Declared
from hamkit.components.featurizer import Featurizer
from hamkit.components.head import Head
from hamkit.components.inducer import Inducer
from hamkit.components.invariant_encoder import InvariantEncoder
from hamkit.components.loss import Loss

KIND_BASES: dict[str, type[Component]] = {
    "featurizer": Featurizer,
    "invariant_encoder": InvariantEncoder,
    "inducer": Inducer,
    "head": Head,
    "loss": Loss,
    "dataset": Dataset,
    "convention": Convention,
}
"""Every component kind, in pipeline order, with the base class its components subclass."""

KINDS: tuple[str, ...] = tuple(KIND_BASES)

__all__ = [
    "KINDS",
    "KIND_BASES",
    "BuildContext",
    "Component",
    "ComponentConfig",
    "Convention",
    "Dataset",
    "Declared",
    "Featurizer",
    "Head",
    "Inducer",
    "InvariantEncoder",
    "Loss",
]
