"""Clear errors where a resolved recipe lacks a component or a plugin builds the wrong thing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hamkit.components import BuildContext
from hamkit.engine.objective import Objective
from hamkit.engine.prepare import build_dataset, open_dataset
from hamkit.errors import HamkitError
from hamkit.recipe import ResolvedRecipe, load_recipe

QUICKSTART = Path(__file__).resolve().parents[2] / "recipes" / "quickstart.yaml"


@pytest.fixture(scope="module")
def recipe() -> ResolvedRecipe:
    return load_recipe(QUICKSTART)


class _BuildsNothing:
    """A component class whose ``from_config`` returns something that is not a component."""

    @classmethod
    def from_config(cls, config, context):
        return object()


def _without(recipe: ResolvedRecipe, path: tuple) -> ResolvedRecipe:
    components = {key: entry for key, entry in recipe.components.items() if key != path}
    return dataclasses.replace(recipe, components=components)


def _with_class(recipe: ResolvedRecipe, path: tuple, cls: type) -> ResolvedRecipe:
    entry = recipe.components[path]
    record = dataclasses.replace(entry.record, cls=cls)
    components = {**recipe.components, path: dataclasses.replace(entry, record=record)}
    return dataclasses.replace(recipe, components=components)


def test_required_component_names_the_missing_path(recipe):
    assert recipe.required_component("model", "head").record.name == "cg_expansion"
    with pytest.raises(HamkitError, match=r"no model\.head component"):
        _without(recipe, ("model", "head")).required_component("model", "head")


def test_dataset_plugin_building_something_else_is_refused(recipe):
    assert open_dataset(recipe) is not None  # control: the real dataset builds
    entry = recipe.components[("data", "dataset")]
    record = dataclasses.replace(entry.record, cls=_BuildsNothing)
    with pytest.raises(HamkitError, match="built a object, not a hamkit.components.Dataset"):
        build_dataset(record, entry.config)


def test_loss_plugin_building_something_else_is_refused(recipe):
    context = BuildContext()
    assert len(Objective.from_recipe(recipe, context).losses) == 3  # control
    broken = _with_class(recipe, ("loss", 0), _BuildsNothing)
    with pytest.raises(HamkitError, match="built a object, not a hamkit.components.Loss"):
        Objective.from_recipe(broken, context)


def test_loss_term_without_weight_is_refused(recipe):
    entry = recipe.components[("loss", 1)]
    components = {**recipe.components, ("loss", 1): dataclasses.replace(entry, weight=None)}
    with pytest.raises(HamkitError, match="has no weight"):
        Objective.from_recipe(dataclasses.replace(recipe, components=components), BuildContext())


def test_objective_without_terms_is_refused():
    objective = Objective([], [], [])
    with pytest.raises(HamkitError, match="no loss terms"):
        objective({}, {})
