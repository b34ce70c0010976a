"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

import hamkit  # noqa: F401  (applies the e3nn import fix before any test imports e3nn)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    """The repository root (recipes/, examples/ live there)."""
    return REPO


@pytest.fixture(scope="session")
def quickstart_recipe() -> Path:
    """``recipes/quickstart.yaml``: the recipe tiny end-to-end runs start from."""
    return REPO / "recipes" / "quickstart.yaml"
