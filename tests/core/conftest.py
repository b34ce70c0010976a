"""Fixtures for core tests: hosts with the first-party plus toy plugins."""

from __future__ import annotations

import pytest

from hamkit import plugin_host

from hamkit.plugin_host import load_plugins

from tests.core.toy_plugins import ToyPlugin


@pytest.fixture
def toy_host():
    """All installed plugins plus the toy ones."""
    return load_plugins(environ={}, extra_plugins={"toy": ToyPlugin()})


@pytest.fixture
def cli_host(monkeypatch, toy_host):
    """Make the command line use ``toy_host``."""
    monkeypatch.setattr(plugin_host, "_HOST", toy_host)
    return toy_host
