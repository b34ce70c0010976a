"""Fixtures of the data tests."""

from __future__ import annotations

import pytest

import hamkit_plugins.datasets
from hamkit import plugin_host
from hamkit.cli import data_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.main import build_parser


@pytest.fixture
def run_data(monkeypatch, capsys):
    """Run ``hamkit data ...`` with the datasets plugin loaded; returns (status, stdout)."""
    host = plugin_host.load_plugins(extra_plugins={"datasets": hamkit_plugins.datasets},
                                    environ={"HAMKIT_PLUGINS": "datasets"})
    monkeypatch.setattr(plugin_host, "_HOST", host)
    registrar = CommandRegistrar()
    data_cmd.add_commands(registrar)
    parser = build_parser(registrar)

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(["data", *argv])
        status = args._run(args)
        return status, capsys.readouterr().out

    return run
