"""Every hook a hamkit plugin can implement, in one place.

A plugin is a module (or object) exposed through the ``hamkit`` entry-point
group in its distribution's metadata::

    [project.entry-points.hamkit]
    my_backbone = "my_package.hamkit_plugin"

and implements some of the hooks below, decorated with :data:`hookimpl`. The
first-party components in ``plugins/`` use exactly the same mechanism.

Each hook is documented from one template: **What** it contributes, **When**
hamkit calls it, **Arguments**, and an **Example**.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from hamkit.cli.commands import CommandRegistrar
    from hamkit.registry import Registrar

PROJECT = "hamkit"
ENTRY_POINT_GROUP = "hamkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def hamkit_register_featurizer(register: Registrar) -> None:
    """Register equivariant backbones (the ``featurizer`` kind).

    **What**: classes deriving from :class:`hamkit.components.Featurizer` that map
    a structure graph to equivariant node and pair features with declared irreps.

    **When**: once per process, when the plugin host first loads the plugins
    (any ``hamkit`` command, or :func:`hamkit.plugin_host.get_host`).

    **Arguments**:
        register: Call ``register(cls)`` for each class; ``register(cls, name="x")``
            overrides the class's ``name`` attribute. hamkit records your plugin
            as the provider.

    **Example**::

        @hookimpl
        def hamkit_register_featurizer(register):
            register(MyBackbone)  # MyBackbone.name == "my_backbone"
    """


@hookspec
def hamkit_register_invariant_encoder(register: Registrar) -> None:
    """Register invariant encoders (the ``invariant_encoder`` kind).

    **What**: classes deriving from :class:`hamkit.components.InvariantEncoder`
    that map equivariant features to invariant features (e.g. TraceGrad's trace MLP).

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_invariant_encoder(register):
            register(MyEncoder)
    """


@hookspec
def hamkit_register_inducer(register: Registrar) -> None:
    """Register equivariance inducers (the ``inducer`` kind).

    **What**: classes deriving from :class:`hamkit.components.Inducer` that return
    updated equivariant features with unchanged irreps (gradient, gate, none).

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_inducer(register):
            register(MyInducer)
    """


@hookspec
def hamkit_register_head(register: Registrar) -> None:
    """Register Hamiltonian heads (the ``head`` kind).

    **What**: classes deriving from :class:`hamkit.components.Head` that turn
    features into Hamiltonian sub-blocks in the canonical orbital convention.

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_head(register):
            register(MyHead)
    """


@hookspec
def hamkit_register_loss(register: Registrar) -> None:
    """Register loss terms (the ``loss`` kind).

    **What**: classes deriving from :class:`hamkit.components.Loss`; a recipe's
    ``loss`` section is a weighted list of them.

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_loss(register):
            register(MyLoss)
    """


@hookspec
def hamkit_register_dataset(register: Registrar) -> None:
    """Register dataset readers (the ``dataset`` kind).

    **What**: classes deriving from :class:`hamkit.components.Dataset` that read a
    file layout and return structures with H (and S) in the canonical convention.

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_dataset(register):
            register(MyFormatReader)
    """


@hookspec
def hamkit_register_convention(register: Registrar) -> None:
    """Register orbital conventions (the ``convention`` kind).

    **What**: classes deriving from :class:`hamkit.components.Convention` that map
    one code's orbital order and signs to the canonical convention and back.

    **When**: once per process, when the plugin host first loads the plugins.

    **Arguments**:
        register: Call ``register(cls)`` for each class.

    **Example**::

        @hookimpl
        def hamkit_register_convention(register):
            register(MyCodeConvention)
    """


@hookspec
def hamkit_add_commands(commands: CommandRegistrar) -> None:
    """Add subcommands to the ``hamkit`` command line.

    **What**: new ``hamkit <name> ...`` subcommands, each with its own argparse
    options and ``--help``.

    **When**: every time the ``hamkit`` command line starts, after the plugins load.

    **Arguments**:
        commands: Call ``commands.add(name, help=..., configure=..., run=...)``;
            ``configure(parser)`` adds argparse arguments, ``run(args)`` returns the
            exit status. A name that already exists is refused.

    **Example**::

        @hookimpl
        def hamkit_add_commands(commands):
            commands.add("hello", help="Say hello.", configure=lambda p: None,
                         run=lambda args: print("hello") or 0)
    """


REGISTER_HOOKS: dict[str, str] = {
    "featurizer": "hamkit_register_featurizer",
    "invariant_encoder": "hamkit_register_invariant_encoder",
    "inducer": "hamkit_register_inducer",
    "head": "hamkit_register_head",
    "loss": "hamkit_register_loss",
    "dataset": "hamkit_register_dataset",
    "convention": "hamkit_register_convention",
}
"""Component kind -> the name of its ``register`` hook."""
