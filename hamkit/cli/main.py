"""The ``hamkit`` command line: built-in subcommands plus those plugins add.

User errors (:class:`hamkit.errors.HamkitError`) print a message and exit 2,
without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rich.console import Console

import hamkit

from hamkit.cli import (
    ablate_cmd,
    bands_cmd,
    bench_cmd,
    data_cmd,
    eval_cmd,
    plugins_cmd,
    predict_cmd,
    recipe_cmd,
    scf_cmd,
    train_cmd,
)
from hamkit.cli.commands import CommandRegistrar
from hamkit.errors import HamkitError
from hamkit.plugin_host import PluginHost, get_host
from hamkit.safe_output import is_disk_full

BUILTIN_COMMAND_MODULES = (plugins_cmd, recipe_cmd, data_cmd, train_cmd, eval_cmd, predict_cmd, scf_cmd,
                           ablate_cmd, bench_cmd, bands_cmd)


def collect_commands(host: PluginHost) -> CommandRegistrar:
    """Built-in commands, then each plugin's, isolated like component registration."""
    registrar = CommandRegistrar()
    for module in BUILTIN_COMMAND_MODULES:
        module.add_commands(registrar)
    host.call_each("hamkit_add_commands",
                   lambda provider: {"commands": registrar.bound_to(f"plugin '{provider.plugin}'")})
    return registrar


def build_parser(commands: CommandRegistrar) -> argparse.ArgumentParser:
    """The argparse tree of every command."""
    parser = argparse.ArgumentParser(
        prog="hamkit",
        description="Machine-learned SO(3)-equivariant electronic-structure Hamiltonians.",
    )
    parser.add_argument("--version", action="version", version=f"hamkit {hamkit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands.commands.values():
        command_parser = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(command_parser)
        command_parser.set_defaults(_run=command.run)
    return parser


def _report_problems(host: PluginHost, console: Console) -> None:
    for problem in host.problems:
        console.print(f"warning: {problem}", style="yellow", markup=False, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hamkit`` command.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 2 user error (a full disk included), 130 interrupted,
        141 output pipe closed.
    """
    errors = Console(stderr=True, soft_wrap=True)
    try:
        host = get_host()
        _report_problems(host, errors)
        args = build_parser(collect_commands(host)).parse_args(argv)
        return int(args._run(args) or 0)
    except HamkitError as error:
        errors.print(f"error: {error}", style="red", markup=False, highlight=False)
        return error.exit_code
    except KeyboardInterrupt:
        errors.print("interrupted", style="red")
        return 130
    except BrokenPipeError:  # e.g. `hamkit plugins list | head -1`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        if not is_disk_full(error):
            raise
        errors.print(f"error: {error.filename or 'a file'}: no space left on the device ({error.strerror}); "
                     "free some space and run again", style="red", markup=False, highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
