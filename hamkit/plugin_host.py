"""Loading plugins from the ``hamkit`` entry-point group into one registry.

The host is forgiving on purpose: a plugin that fails to import, whose hook
raises, or that registers a name already taken is recorded as a
:class:`PluginProblem` and skipped; the command line and the other plugins keep
working. Two environment switches select plugins (names are entry-point names,
comma-separated):

- ``HAMKIT_PLUGINS``: load only these plugins (unset: all);
- ``HAMKIT_DISABLE_PLUGINS``: never load these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from hamkit import hookspecs

from hamkit.registry import Provider, Registrar, Registry

ONLY_PLUGINS_VARIABLE = "HAMKIT_PLUGINS"
DISABLED_PLUGINS_VARIABLE = "HAMKIT_DISABLE_PLUGINS"


@dataclass(frozen=True)
class PluginProblem:
    """A plugin that could not be (fully) loaded.

    Attributes:
        plugin: Its name.
        stage: ``"import"``, ``"register"`` or ``"selection"``.
        message: What went wrong, for humans.
    """

    plugin: str
    stage: str
    message: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' ({self.stage}): {self.message}"


@dataclass
class PluginHost:
    """The loaded plugins, their components, and what went wrong.

    Attributes:
        manager: The pluggy manager holding the plugin modules.
        registry: Every component registered by the loaded plugins.
        providers: Loaded plugin name -> provider.
        problems: Plugins skipped in part or in full, with reasons.
    """

    manager: pluggy.PluginManager
    registry: Registry = field(default_factory=Registry)
    providers: dict[str, Provider] = field(default_factory=dict)
    problems: list[PluginProblem] = field(default_factory=list)

    def call_each(self, hook_name: str, make_kwargs: Callable[[Provider], Mapping[str, Any]]) -> None:
        """Call every implementation of a hook, isolating failures per plugin.

        Args:
            hook_name: A hook from :mod:`hamkit.hookspecs`.
            make_kwargs: Builds the hook's arguments for a given provider.
        """
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():
            provider = self.providers[impl.plugin_name]
            kwargs = make_kwargs(provider)
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as error:  # noqa: BLE001 - a plugin must not break the host
                self.problems.append(
                    PluginProblem(provider.plugin, "register", f"{hook_name}: {error}")
                )


def _selected(names: Iterable[str], environ: Mapping[str, str]) -> tuple[set[str], list[PluginProblem]]:
    """Apply the environment switches to the available plugin names."""
    available = set(names)
    only_raw = environ.get(ONLY_PLUGINS_VARIABLE)
    disabled_raw = environ.get(DISABLED_PLUGINS_VARIABLE, "")
    only = {n.strip() for n in only_raw.split(",") if n.strip()} if only_raw is not None else None
    disabled = {n.strip() for n in disabled_raw.split(",") if n.strip()}
    problems = [
        PluginProblem(name, "selection", f"{variable} names it, but no installed plugin has "
                      f"that name (installed: {', '.join(sorted(available)) or 'none'})")
        for variable, requested in ((ONLY_PLUGINS_VARIABLE, only or set()),
                                    (DISABLED_PLUGINS_VARIABLE, disabled))
        for name in sorted(requested - available)
    ]
    chosen = (available if only is None else available & only) - disabled
    return chosen, problems


def _distribution_label(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return f"{dist.metadata['Name']} {dist.version}" if dist is not None else ""


def load_plugins(
    environ: Mapping[str, str] | None = None,
    extra_plugins: Mapping[str, ModuleType | object] | None = None,
) -> PluginHost:
    """Discover, load and register all plugins.

    Args:
        environ: Environment for the selection switches (default ``os.environ``).
        extra_plugins: Plugins given directly, name -> module or object (used by
            tests and embedding applications); subject to the same switches.

    Returns:
        The host, with every loadable plugin's components registered.
    """
    environ = os.environ if environ is None else environ
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager)

    entry_points = {ep.name: ep for ep in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)}
    extra = dict(extra_plugins or {})
    chosen, host.problems = _selected([*entry_points, *extra], environ)

    for name in sorted(chosen):
        if name in entry_points:
            entry_point = entry_points[name]
            provider = Provider(name, entry_point.value, _distribution_label(entry_point))
            try:
                plugin = entry_point.load()
            except Exception as error:  # noqa: BLE001 - report, keep going
                host.problems.append(PluginProblem(name, "import", f"{type(error).__name__}: {error}"))
                continue
        else:
            plugin = extra[name]
            provider = Provider(name, getattr(plugin, "__name__", type(plugin).__name__))
        try:
            manager.register(plugin, name=name)
            manager.check_pending()
        except Exception as error:  # noqa: BLE001 - e.g. a misspelt hook name
            if manager.is_registered(plugin):
                manager.unregister(plugin)
            host.problems.append(PluginProblem(name, "import", str(error)))
            continue
        host.providers[name] = provider

    for kind, hook_name in hookspecs.REGISTER_HOOKS.items():
        host.call_each(hook_name, _register_kwargs(host.registry, kind))
    return host


def _register_kwargs(registry: Registry, kind: str) -> Callable[[Provider], Mapping[str, Any]]:
    """The ``make_kwargs`` of :meth:`PluginHost.call_each` for the ``hamkit_register_<kind>`` hook."""

    def make_kwargs(provider: Provider) -> Mapping[str, Any]:
        return {"register": Registrar(registry, kind, provider)}

    return make_kwargs


_HOST: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _HOST
    if _HOST is None:
        _HOST = load_plugins()
    return _HOST
