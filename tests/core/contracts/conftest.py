"""Fixtures of the contract-mixin tests (positive and negative controls)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hamkit.components import BuildContext, Component, ComponentConfig

Factory = Callable[[BuildContext], Component]


@pytest.fixture
def default_factory() -> Callable[[type[Component]], Factory]:
    """``cls -> factory``: builds ``cls`` with empty options, as a mixin's ``*_factory`` argument."""
    return lambda cls: lambda context: cls.from_config(ComponentConfig(), context)
