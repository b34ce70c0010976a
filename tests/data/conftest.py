"""Fixtures of the data tests."""

from __future__ import annotations

import pytest

import hamkit_plugins.datasets

from tests.data_command_runner import data_command_runner


@pytest.fixture
def run_data(monkeypatch, capsys):
    """Run ``hamkit data ...`` with the datasets plugin loaded; returns (status, stdout)."""
    return data_command_runner(monkeypatch, capsys, {"datasets": hamkit_plugins.datasets})
