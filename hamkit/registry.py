"""The typed component registry: who registered what, under which name.

One :class:`Registry` holds every component of every kind. Plugins never touch
it directly: each ``hamkit_register_<kind>`` hook receives a :class:`Registrar`
bound to one kind and one provider, so every record knows its plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic.fields import FieldInfo

from hamkit.components import KIND_BASES, KINDS, Component, ComponentConfig
from hamkit.errors import HamkitError
from hamkit.suggest import did_you_mean


@dataclass(frozen=True)
class Provider:
    """Where a component came from.

    Attributes:
        plugin: The plugin's name (its entry-point name, or the name it was
            registered under programmatically).
        module: The module or object the plugin was loaded from.
        distribution: ``"name version"`` of the installed distribution, if known.
    """

    plugin: str
    module: str
    distribution: str = ""

    def __str__(self) -> str:
        where = f" from {self.distribution}" if self.distribution else ""
        return f"plugin '{self.plugin}' ({self.module}{where})"


@dataclass(frozen=True)
class ComponentRecord:
    """One registered component.

    Attributes:
        kind: One of :data:`hamkit.components.KINDS`.
        name: The name recipes use.
        cls: The component class.
        provider: Who registered it.
    """

    kind: str
    name: str
    cls: type[Component]
    provider: Provider

    @property
    def config_class(self) -> type[ComponentConfig]:
        """The pydantic model validating this component's options."""
        return self.cls.Config

    @property
    def summary(self) -> str:
        """One-line description (the class docstring's first line)."""
        return self.cls.summary()

    def options(self) -> list[dict[str, Any]]:
        """Describe each option: name, type, default (None if required), description."""
        return [
            _describe_option(name, info) for name, info in self.config_class.model_fields.items()
        ]


def _describe_option(name: str, info: FieldInfo) -> dict[str, Any]:
    annotation = info.annotation
    type_name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    return {
        "name": name,
        "type": type_name,
        "required": info.is_required(),
        "default": default,
        "description": info.description or "",
    }


class RegistryError(HamkitError):
    """Base of registry errors."""


class DuplicateComponentError(RegistryError):
    """Two providers registered the same name for the same kind."""


class UnknownComponentError(RegistryError):
    """A recipe or command asked for a name nobody registered."""


class InvalidComponentError(RegistryError):
    """A plugin tried to register something that is not a valid component."""


class Registry:
    """All registered components, by kind and name."""

    def __init__(self) -> None:
        self._records: dict[str, dict[str, ComponentRecord]] = {kind: {} for kind in KINDS}

    def add(self, record: ComponentRecord) -> None:
        """Add a record.

        Raises:
            DuplicateComponentError: The name is taken for this kind; the message
                names both providers.
        """
        existing = self._records[record.kind].get(record.name)
        if existing is not None:
            raise DuplicateComponentError(
                f"{record.kind} '{record.name}' is registered twice: by {existing.provider} "
                f"and by {record.provider}. Uninstall or disable one of them "
                "(HAMKIT_DISABLE_PLUGINS=<plugin>)."
            )
        self._records[record.kind][record.name] = record

    def get(self, kind: str, name: str) -> ComponentRecord:
        """Look a component up.

        Raises:
            UnknownComponentError: With the closest registered name, if any.
        """
        self._check_kind(kind)
        try:
            return self._records[kind][name]
        except KeyError:
            raise UnknownComponentError(
                f"unknown {kind} '{name}'.{did_you_mean(name, self._records[kind])}"
            ) from None

    def names(self, kind: str) -> list[str]:
        """Sorted names registered for ``kind``."""
        self._check_kind(kind)
        return sorted(self._records[kind])

    def records(self, kind: str | None = None) -> Iterator[ComponentRecord]:
        """Records in kind order, then name order; only ``kind`` if given."""
        for each_kind in [kind] if kind else KINDS:
            self._check_kind(each_kind)
            for name in sorted(self._records[each_kind]):
                yield self._records[each_kind][name]

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KIND_BASES:
            raise UnknownComponentError(f"unknown component kind '{kind}'.{did_you_mean(kind, KINDS)}")


class Registrar:
    """The ``register`` callable a ``hamkit_register_<kind>`` hook receives.

    Bound to one kind and one provider, it checks what a plugin registers before
    it reaches the registry.
    """

    def __init__(self, registry: Registry, kind: str, provider: Provider) -> None:
        self._registry = registry
        self.kind = kind
        self.provider = provider

    def __call__(self, cls: type[Component], *, name: str | None = None) -> None:
        """Register a component class.

        Args:
            cls: A subclass of this kind's base class (e.g. ``Featurizer``) with a
                ``Config`` deriving from :class:`ComponentConfig`.
            name: The recipe name; defaults to ``cls.name``.

        Raises:
            InvalidComponentError: ``cls`` is not a component of this kind, has no
                name, or its Config does not forbid unknown options.
            DuplicateComponentError: The name is taken.
        """
        base = KIND_BASES[self.kind]
        label = getattr(cls, "__qualname__", repr(cls))
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise InvalidComponentError(
                f"{self.provider} registered {label} as a {self.kind}, but it does not "
                f"derive from hamkit.components.{base.__name__}."
            )
        component_name = name or getattr(cls, "name", None)
        if not isinstance(component_name, str) or not component_name.isidentifier():
            raise InvalidComponentError(
                f"{self.provider} registered {label} without a valid name: set the class "
                "attribute `name` (a Python identifier) or pass register(cls, name=...)."
            )
        config = getattr(cls, "Config", None)
        if not (isinstance(config, type) and issubclass(config, ComponentConfig)):
            raise InvalidComponentError(
                f"{self.provider}: {self.kind} '{component_name}' needs a Config class "
                "deriving from hamkit.components.ComponentConfig."
            )
        self._registry.add(ComponentRecord(self.kind, component_name, cls, self.provider))
