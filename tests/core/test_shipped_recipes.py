"""Every recipe under recipes/ validates with the installed plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

from hamkit.plugin_host import load_plugins
from hamkit.recipe import load_recipe

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml"))


def test_there_are_recipes():
    assert {"quickstart.yaml", "qhnet.yaml", "tracegrad_qhnet.yaml"} <= {p.name for p in RECIPES}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_validates(path):
    recipe = load_recipe(path, registry=load_plugins(environ={}).registry)
    assert recipe.component("model", "featurizer") is not None
