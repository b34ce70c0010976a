"""Small plugins used by the core tests to exercise registration and recipes.

They register through the real hooks; their components are minimal on purpose
(the registry and recipe machinery is under test here, not the physics).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from hamkit.components import ComponentConfig, Dataset, Featurizer, Head
from hamkit.hookspecs import hookimpl


class ToyBackboneConfig(ComponentConfig):
    hidden: int = Field(16, gt=0, description="Width.")
    lmax: int = Field(2, ge=0, description="Largest degree.")
    activation: Literal["silu", "tanh"] = "silu"


class ToyBackbone(Featurizer):
    """A backbone for registry tests."""

    name: ClassVar[str] = "toy_backbone"
    Config: ClassVar[type[ComponentConfig]] = ToyBackboneConfig

    def __init__(self, config):
        super().__init__()
        self.config = config


class ToyHeadConfig(ComponentConfig):
    bias: bool = True


class ToyHead(Head):
    """A head for registry tests."""

    name: ClassVar[str] = "toy_head"
    Config: ClassVar[type[ComponentConfig]] = ToyHeadConfig


class ToyDatasetConfig(ComponentConfig):
    path: str = Field(description="Where the data is.")


class ToyDataset(Dataset):
    """A dataset for registry tests."""

    name: ClassVar[str] = "toy_data"
    Config: ClassVar[type[ComponentConfig]] = ToyDatasetConfig


class ToyPlugin:
    """Registers one component of the kinds a recipe needs besides losses/inducers."""

    @hookimpl
    def hamkit_register_featurizer(self, register):
        register(ToyBackbone)

    @hookimpl
    def hamkit_register_head(self, register):
        register(ToyHead)

    @hookimpl
    def hamkit_register_dataset(self, register):
        register(ToyDataset)


class ClashingPlugin:
    """Registers a featurizer under a name ToyPlugin already uses."""

    @hookimpl
    def hamkit_register_featurizer(self, register):
        register(ToyBackbone, name="toy_backbone")


class RaisingPlugin:
    """Its register hook fails."""

    @hookimpl
    def hamkit_register_featurizer(self, register):
        raise RuntimeError("backbone weights missing")


class MisspeltHookPlugin:
    """Implements a hook that does not exist."""

    @hookimpl
    def hamkit_register_featurizers(self, register):  # note the extra 's'
        register(ToyBackbone)


class NotAComponentPlugin:
    """Registers a class of the wrong kind."""

    @hookimpl
    def hamkit_register_featurizer(self, register):
        register(ToyHead)


class CommandPlugin:
    """Adds a subcommand."""

    @hookimpl
    def hamkit_add_commands(self, commands):
        def configure(parser):
            parser.add_argument("--who", default="world")

        def run(args):
            print(f"hello {args.who}")
            return 0

        commands.add("hello", help="Say hello.", configure=configure, run=run)
