"""Subcommand registration shared by built-in commands and plugins."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from hamkit.errors import HamkitError

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    """One ``hamkit <name>`` subcommand.

    Attributes:
        name: The word after ``hamkit``.
        help: One line for ``hamkit --help``.
        configure: Adds the command's arguments to its parser.
        run: Executes it; returns the exit status.
        provider: Who added it (``"hamkit"`` for built-ins, else the plugin name).
    """

    name: str
    help: str
    configure: Configure
    run: Run
    provider: str = "hamkit"


class CommandRegistrar:
    """What the ``hamkit_add_commands`` hook receives: collects subcommands."""

    def __init__(self, provider: str = "hamkit") -> None:
        self.provider = provider
        self.commands: dict[str, Command] = {}

    def bound_to(self, provider: str) -> "CommandRegistrar":
        """A registrar adding to the same table on behalf of ``provider``."""
        other = CommandRegistrar(provider)
        other.commands = self.commands
        return other

    def add(self, name: str, *, help: str, configure: Configure, run: Run) -> None:  # noqa: A002
        """Add a subcommand.

        Raises:
            HamkitError: The name is already taken (names both providers).
        """
        if name in self.commands:
            raise HamkitError(
                f"command '{name}' is added twice: by {self.commands[name].provider} "
                f"and by {self.provider}"
            )
        self.commands[name] = Command(name, help, configure, run, self.provider)
