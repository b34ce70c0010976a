"""Two-pass recipe validation, with errors that point at file, line and option.

Pass 1 checks the recipe's sections (:mod:`hamkit.recipe.schema`). Pass 2 looks
up each component entry in the registry and validates its options against that
component's own Config, unknown options forbidden. Both passes also reject what
pydantic would silently coerce or accept (:mod:`hamkit.recipe.semantics`): booleans
for numbers, ``.inf``/``.nan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from hamkit.components import ComponentConfig
from hamkit.recipe.errors import RecipeError, RecipeIssue
from hamkit.recipe.schema import COMPONENT_KIND_OF_PATH, ComponentEntry, RecipeSections
from hamkit.recipe.semantics import bool_issues, merge_issues, nonfinite_issues, origin_of, written_elsewhere
from hamkit.recipe.yaml_source import LineMap, PathKey, dotted
from hamkit.registry import ComponentRecord, Registry, UnknownComponentError
from hamkit.suggest import did_you_mean

__all__ = ["ResolvedComponent", "issues_from_validation", "origin_of", "resolve_components",
           "validate_sections"]


@dataclass(frozen=True)
class ResolvedComponent:
    """A component entry after pass 2.

    Attributes:
        path: Where it sits in the recipe, e.g. ``("model", "featurizer")``.
        record: The registry record (class and provider).
        config: Its validated options.
        weight: The loss weight (loss terms only).
    """

    path: PathKey
    record: ComponentRecord
    config: ComponentConfig
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{name, [weight], **options}`` with every default filled in."""
        head: dict[str, Any] = {"name": self.record.name}
        if self.weight is not None:
            head["weight"] = self.weight
        return {**head, **self.config.model_dump(mode="json")}


def _describe_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def issues_from_validation(
    error: ValidationError, model: type[BaseModel], lines: LineMap, prefix: PathKey,
    also_valid: tuple[str, ...] = (),
) -> list[RecipeIssue]:
    """Turn pydantic errors into recipe issues with origins and suggestions.

    Args:
        error: What pydantic raised.
        model: The model that was validated (for valid option names).
        lines: Origins of the recipe's values.
        prefix: Path of the validated value inside the recipe.
        also_valid: Keys valid beside the model's fields at the top (e.g. ``name``).
    """
    issues = []
    for item in error.errors():
        loc = tuple(item["loc"])
        path = (*prefix, *loc)
        if item["type"] == "extra_forbidden" and loc:
            parent = _model_at(model, loc[:-1])
            valid = [*parent.model_fields] if parent else []
            if len(loc) == 1:
                valid += also_valid
            what = "section" if not path[:-1] else "option"
            message = f"unknown {what} '{loc[-1]}'.{did_you_mean(str(loc[-1]), valid)}"
        elif item["type"] == "missing":
            message = "required but missing"
        else:
            text = item["msg"].removeprefix("Value error, ")
            message = f"{text} (got {_describe_input(item.get('input'))})"
        message += _written_elsewhere_note(lines, path)
        issues.append(RecipeIssue(origin_of(lines, path), dotted(path), message))
    return issues


def _written_elsewhere_note(lines: LineMap, path: PathKey) -> str:
    """`` (with values from ...)`` when parts of ``path`` were written elsewhere.

    A check of a whole section (``train + val + test exceeds 1``) points at the section's
    line; this also names the ``--set`` overrides (or other files) that changed its values.
    """
    others = written_elsewhere(lines, path)
    return f" (with values from {', '.join(str(origin) for origin in others)})" if others else ""


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested pydantic model at ``loc`` (list indices skipped), if any."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return None
        current = _model_in(field.annotation)
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside ``X``, ``X | None`` or ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validate_sections(data: dict, lines: LineMap) -> RecipeSections:
    """Pass 1: the recipe's sections.

    Raises:
        RecipeError: Every structural problem at once.
    """
    issues = nonfinite_issues(data, lines) + bool_issues(RecipeSections, data, lines, ())
    try:
        sections = RecipeSections.model_validate(data)
    except ValidationError as error:
        found = issues_from_validation(error, RecipeSections, lines, ())
        raise RecipeError(merge_issues(issues, found)) from None
    if issues:
        raise RecipeError(issues)
    return sections


def _resolve_entry(
    registry: Registry, kind: str, entry: ComponentEntry, path: PathKey, lines: LineMap,
    weight: float | None = None,
) -> ResolvedComponent | list[RecipeIssue]:
    try:
        record = registry.get(kind, entry.name)
    except UnknownComponentError as error:
        return [RecipeIssue(origin_of(lines, (*path, "name")), dotted((*path, "name")), str(error))]
    options = entry.options()
    issues = bool_issues(record.config_class, options, lines, path)
    try:
        config = record.config_class.model_validate(options)
    except ValidationError as error:
        issues = merge_issues(issues, issues_from_validation(
            error, record.config_class, lines, path, tuple(type(entry).model_fields)
        ))
    if issues:
        return [RecipeIssue(issue.origin, issue.path, f"{issue.message} [{kind} '{entry.name}']")
                for issue in issues]
    return ResolvedComponent(path, record, config, weight)


def resolve_components(
    sections: RecipeSections, registry: Registry, lines: LineMap
) -> dict[PathKey, ResolvedComponent]:
    """Pass 2: every component entry against its registered Config.

    Returns:
        Resolved components keyed by their path in the recipe (losses: ``("loss", i)``).

    Raises:
        RecipeError: Every unknown component or bad option at once.
    """
    entries: list[tuple[str, ComponentEntry, PathKey, float | None]] = []
    for (section, field), kind in COMPONENT_KIND_OF_PATH.items():
        entry = getattr(getattr(sections, section), field)
        if entry is not None:
            entries.append((kind, entry, (section, field), None))
    for index, term in enumerate(sections.loss):
        entries.append(("loss", term, ("loss", index), term.weight))

    resolved: dict[PathKey, ResolvedComponent] = {}
    issues: list[RecipeIssue] = []
    for kind, entry, path, weight in entries:
        outcome = _resolve_entry(registry, kind, entry, path, lines, weight)
        if isinstance(outcome, list):
            issues.extend(outcome)
        else:
            resolved[path] = outcome
    if issues:
        raise RecipeError(issues)
    return resolved
