"""What every registered component shares: a kind, a validated Config, a build step.

A component is a class. Its ``Config`` (a :class:`ComponentConfig`, unknown
fields forbidden) documents and validates its recipe options; hamkit builds it
with ``cls.from_config(config, context)``, where the :class:`BuildContext`
carries what the data decides (species, orbital basis, dtype) so a recipe never
repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from hamkit.components.declared import Declared


class ComponentConfig(BaseModel):
    """Base of every component's options; unknown options are errors.

    Subclass it with typed, documented fields (``Field(description=...)``); the
    field descriptions are what ``hamkit plugins list`` shows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class BuildContext:
    """What the data and the already-built components decide, for building the next one.

    Attributes:
        species: Atomic numbers present in the dataset, sorted.
        basis: The orbital basis (a ``hamkit.data.basis.OrbitalBasis``) or None.
        dtype: Parameter dtype name, ``"float32"`` or ``"float64"``.
        declared: What upstream components declared (:class:`Declared`: node and
            pair irreps, the irreps of the stage being built, trace count), filled by
            the assembler as it builds the chain.
        statistics: Training-set statistics (e.g. ``"onsite_mean"``: element -> mean
            on-site block); empty when a model is rebuilt from a checkpoint.
    """

    species: tuple[int, ...] = ()
    basis: Any = None
    dtype: str = "float32"
    declared: Declared = field(default_factory=Declared)
    statistics: dict[str, Any] = field(default_factory=dict)


class Component:
    """Mixin giving a component class its registry metadata and default builder.

    Class attributes:
        kind: The registry the class belongs to (set by each kind's base class).
        name: The name recipes use (may be overridden at registration).
        Config: The pydantic model of its options.
    """

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "Component":
        """Build the component; override when construction needs the context.

        Args:
            config: Validated options (an instance of ``cls.Config``).
            context: What the data and upstream components decided.

        Returns:
            The component instance.
        """
        return cls(config)  # type: ignore[call-arg]

    @classmethod
    def summary(cls) -> str:
        """First line of the class docstring: the one-line description users see."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
