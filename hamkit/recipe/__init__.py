"""YAML recipes: safe loading with line numbers, ``extends``, ``--set``, two-pass validation.

Typical use::

    recipe = load_recipe("recipes/quickstart.yaml", overrides=["train.steps=10"])
    recipe.required_component("model", "featurizer").record.cls
    for warning in recipe.warnings:      # e.g. a split without a test set
        print(warning.as_warning())      # "warning: FILE:LINE: PATH: MESSAGE"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hamkit.errors import HamkitError
from hamkit.recipe.compose import apply_override, read_recipe_document
from hamkit.recipe.errors import Origin, RecipeError, RecipeIssue
from hamkit.recipe.schema import RecipeSections
from hamkit.recipe.semantics import recipe_warnings
from hamkit.recipe.validate import ResolvedComponent, resolve_components, validate_sections
from hamkit.recipe.yaml_source import LineMap, PathKey, dotted
from hamkit.registry import Registry


@dataclass(frozen=True)
class ResolvedRecipe:
    """A validated recipe with every component resolved.

    Attributes:
        source: The recipe file.
        sections: Pass-1 result (sections with defaults).
        components: Pass-2 result, keyed by path in the recipe.
        lines: Origin of every value (file and line, or the ``--set`` that wrote it).

    ``warnings`` lists what does not stop the recipe but makes its results misleading.
    """

    source: Path
    sections: RecipeSections
    components: dict[PathKey, ResolvedComponent]
    lines: LineMap

    @property
    def warnings(self) -> tuple[RecipeIssue, ...]:
        """Problems that do not stop training (no test set, warmup longer than training, ...).

        Each has an origin and dotted path; ``issue.as_warning()`` formats it as
        ``warning: FILE:LINE: PATH: MESSAGE``.
        """
        return recipe_warnings(self.sections, self.lines)

    def component(self, *path: Any) -> ResolvedComponent | None:
        """The resolved component at ``path`` (e.g. ``"model", "featurizer"``), or None."""
        return self.components.get(tuple(path))

    def required_component(self, *path: Any) -> ResolvedComponent:
        """The resolved component at ``path`` that every recipe has (``data.dataset``,
        ``model.featurizer``, ``model.inducer``, ``model.head``; validation fills them in).

        Raises:
            HamkitError: The recipe has no component at ``path``.
        """
        entry = self.component(*path)
        if entry is None:
            raise HamkitError(f"{self.source}: the recipe has no {dotted(tuple(path))} component")
        return entry

    @property
    def losses(self) -> list[ResolvedComponent]:
        """The loss terms in recipe order."""
        return [self.components[("loss", i)] for i in range(len(self.sections.loss))]

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved recipe, defaults filled in, as plain data (YAML/JSON-safe)."""
        data = self.sections.model_dump(mode="json")
        for path, component in self.components.items():
            container = data
            for part in path[:-1]:
                container = container[part]
            container[path[-1]] = component.to_dict()
        return data


def load_recipe(
    path: str | Path, overrides: Sequence[str] = (), registry: Registry | None = None
) -> ResolvedRecipe:
    """Load, compose and validate a recipe.

    Args:
        path: The recipe YAML file.
        overrides: ``path.to.key=value`` assignments applied after ``extends``.
        registry: Where components are looked up (default: the loaded plugins').

    Returns:
        The resolved recipe.

    Raises:
        RecipeError: Any problem, with file, line, dotted path and suggestion.
    """
    if registry is None:
        from hamkit.plugin_host import get_host

        registry = get_host().registry
    path = Path(path)
    data, lines = read_recipe_document(path)
    for assignment in overrides:
        apply_override(data, lines, assignment)
    sections = validate_sections(data, lines)
    components = resolve_components(sections, registry, lines)
    return ResolvedRecipe(path, sections, components, lines)


__all__ = [
    "Origin",
    "RecipeError",
    "RecipeIssue",
    "ResolvedComponent",
    "ResolvedRecipe",
    "load_recipe",
    "recipe_warnings",
]
