"""Running ``hamkit data ...`` in-process with chosen plugins, for the data and format tests."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from hamkit import plugin_host

from hamkit.cli import data_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.main import build_parser


def data_command_runner(monkeypatch, capsys, plugins: dict[str, ModuleType]) -> Callable[..., tuple[int, str]]:
    """A function running ``hamkit data ARGV...`` with only ``plugins`` loaded.

    Args:
        monkeypatch: pytest's fixture (installs the plugin host for the test).
        capsys: pytest's fixture (captures stdout).
        plugins: ``{name: module}`` of the plugins to load.

    Returns:
        ``run(*argv) -> (exit status, stdout)``.
    """
    host = plugin_host.load_plugins(extra_plugins=plugins, environ={"HAMKIT_PLUGINS": ",".join(plugins)})
    assert not host.problems
    monkeypatch.setattr(plugin_host, "_HOST", host)
    registrar = CommandRegistrar()
    data_cmd.add_commands(registrar)
    parser = build_parser(registrar)

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(["data", *argv])
        status = args._run(args)
        return status, capsys.readouterr().out

    return run
