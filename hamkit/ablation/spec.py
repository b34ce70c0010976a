"""Ablation files: a base recipe, a budget, seeds, and named variants (lists of overrides).

Example::

    base: ../tracegrad_qhnet.yaml      # relative to this file
    budget: {steps: 2000}              # or {seconds: 600}
    seeds: [0, 1, 2]                   # train.seed of each run; the split stays fixed
    set: ["train.batch_size=8"]        # overrides for every variant
    variants:
      base_qhnet: ["model.invariant_encoder=null", "model.inducer={name: none}"]
      full_tracegrad: []

Every problem is reported with the ablation file's line (or the recipe's, for
problems in the base recipe), all variants at once, before anything trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError, model_validator

from hamkit.recipe import ResolvedRecipe
from hamkit.recipe.compose import apply_override, read_recipe_document
from hamkit.recipe.errors import Origin, RecipeError, RecipeIssue
from hamkit.recipe.validate import resolve_components, validate_sections
from hamkit.recipe.yaml_source import LineMap, PathKey, dotted, read_yaml
from hamkit.registry import Registry


class Budget(BaseModel):
    """The same training budget for every variant: a step count or a wall time.

    Strict numbers: ``steps: true`` is not 1 step; ``seconds: .inf`` is not a budget.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    steps: StrictInt | None = Field(default=None, gt=0)
    seconds: StrictFloat | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Budget":
        if (self.steps is None) == (self.seconds is None):
            raise ValueError("give exactly one of 'steps' or 'seconds'")
        return self


class AblationModel(BaseModel):
    """The ablation file's schema."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    base: str
    budget: Budget
    seeds: list[StrictInt] = Field(default_factory=lambda: [0], min_length=1)
    set: list[str] = Field(default_factory=list)
    variants: dict[str, list[str]] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> "AblationModel":
        for name in self.variants:
            if not name or "/" in name or name.startswith("."):
                raise ValueError(f"variant name '{name}' cannot be a folder name")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds repeat")
        return self


@dataclass
class Ablation:
    """A validated ablation file.

    Attributes:
        source: The ablation file.
        spec: Its parsed content.
        base: The base recipe's path.
        lines: Origin of every value in the ablation file.
        extra: Command-line ``--set`` overrides for every variant.
    """

    source: Path
    spec: AblationModel
    base: Path
    lines: LineMap
    extra: list[str] = field(default_factory=list)

    @property
    def variants(self) -> list[str]:
        return list(self.spec.variants)

    def overrides(self, variant: str, seed: int) -> list[tuple[str, Origin]]:
        """Every override of one run, in order, each with where it was written."""
        result = [(a, self.lines.get(("set", i), Origin(str(self.source))))
                  for i, a in enumerate(self.spec.set)]
        result += [(a, self.lines.get(("variants", variant, i), Origin(str(self.source))))
                   for i, a in enumerate(self.spec.variants[variant])]
        result += [(a, Origin(f"--set {a}")) for a in self.extra]
        budget = self.spec.budget
        budget_origin = self.lines.get(("budget",), Origin(str(self.source)))
        if budget.steps is not None:
            result.append((f"train.steps={budget.steps}", budget_origin))
        result.append((f"train.seed={seed}", self.lines.get(("seeds",), Origin(str(self.source)))))
        return result

    def recipe(self, variant: str, seed: int, registry: Registry | None = None) -> ResolvedRecipe:
        """The resolved recipe of one (variant, seed).

        Raises:
            RecipeError: Every problem, tagged with the variant.
        """
        if registry is None:
            from hamkit.plugin_host import get_host

            registry = get_host().registry
        data, lines = read_recipe_document(self.base)
        for assignment, origin in self.overrides(variant, seed):
            try:
                apply_override(data, lines, assignment)
            except RecipeError as error:
                raise _retag(error, variant, (assignment, origin)) from None
            for key, value in list(lines.items()):
                if value == Origin(f"--set {assignment}"):
                    lines[key] = origin
        try:
            sections = validate_sections(data, lines)
            components = resolve_components(sections, registry, lines)
        except RecipeError as error:
            raise _retag(error, variant) from None
        return ResolvedRecipe(self.base, sections, components, lines)


def _retag(error: RecipeError, variant: str, override: tuple[str, Origin] | None = None) -> RecipeError:
    """``error`` with each message tagged with ``variant``.

    Args:
        error: The error of one variant's recipe.
        variant: The variant's name.
        override: The ``(assignment, origin)`` of the override being applied, if any: issues
            located at ``--set ASSIGNMENT`` are moved to where the assignment was written.
    """
    issues = []
    for issue in error.issues:
        where = issue.origin
        if override is not None and where == Origin(f"--set {override[0]}"):
            where = override[1]
        issues.append(RecipeIssue(where, issue.path, f"[variant {variant}] {issue.message}"))
    return RecipeError(issues)


def _origin_of(lines: LineMap, loc: Sequence[Any], source: Path) -> Origin:
    path: PathKey = tuple(loc)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, Origin(str(source), 1))


def load_ablation(path: str | Path, extra: Sequence[str] = ()) -> Ablation:
    """Read and check an ablation file (not yet the variants; see :func:`validate_variants`).

    Raises:
        RecipeError: Unknown or misspelt keys, wrong types, missing base recipe; with file:line.
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError([RecipeIssue(Origin(str(path)), "", "ablation file not found")])
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise RecipeError([RecipeIssue(Origin(str(path), 1), "", "an ablation file is a mapping "
                                       "with base, budget, seeds, set and variants")])
    try:
        spec = AblationModel.model_validate(data)
    except ValidationError as error:
        issues = []
        for item in error.errors():
            loc = tuple(item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                known = _known_keys(loc[:-1])
                close = _closest(str(loc[-1]), known)
                message = f"unknown key '{loc[-1]}'" + (f"; did you mean '{close}'?" if close else
                                                        f"; expected one of {', '.join(known)}")
            issues.append(RecipeIssue(_origin_of(lines, loc, path), dotted(loc), message))
        raise RecipeError(issues) from None
    base = path.parent / spec.base
    if not base.is_file():
        raise RecipeError([RecipeIssue(_origin_of(lines, ("base",), path), "base",
                                       f"base recipe '{base}' not found")])
    return Ablation(path, spec, base, lines, list(extra))


def _known_keys(loc: tuple) -> list[str]:
    if loc == ("budget",):
        return list(Budget.model_fields)
    return list(AblationModel.model_fields)


def _closest(word: str, known: list[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return matches[0] if matches else None


def validate_variants(ablation: Ablation, check_models: bool = False,
                      registry: Registry | None = None) -> dict[str, ResolvedRecipe]:
    """Resolve every variant's recipe (with the first seed), collecting all problems.

    Args:
        ablation: The loaded ablation file.
        check_models: Also build each variant's model on its dataset (catches
            component combinations that only fail at build time).

    Raises:
        RecipeError: Every problem of every variant, at once.
    """
    from hamkit.errors import HamkitError

    issues: list[RecipeIssue] = []
    recipes: dict[str, ResolvedRecipe] = {}
    seed = ablation.spec.seeds[0]
    for variant in ablation.variants:
        try:
            recipes[variant] = ablation.recipe(variant, seed, registry)
        except RecipeError as error:
            issues += error.issues
    if check_models and not issues:
        from hamkit.engine.prepare import build_context, open_dataset
        from hamkit.model import build_model

        for variant, recipe in recipes.items():
            try:
                dataset = open_dataset(recipe)
                build_model(recipe, build_context(dataset, recipe.sections.train.dtype))
            except HamkitError as error:
                origin = ablation.lines.get(("variants", variant), Origin(str(ablation.source)))
                issues.append(RecipeIssue(origin, f"variants.{variant}", f"[variant {variant}] {error}"))
    if issues:
        raise RecipeError(issues)
    return recipes
