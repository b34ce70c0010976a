"""Checks pydantic's field types cannot express, and warnings about recipes that run but mislead.

Errors (reported with the pass that finds them, see :mod:`hamkit.recipe.validate`):

* a non-finite number (``.inf``, ``.nan``) anywhere in a recipe;
* ``true``/``false`` where a number is expected (pydantic would read ``steps: true`` as 1).

Warnings (:func:`recipe_warnings`; the recipe still runs): a split without a test or
validation set, warmup longer than training, validation-driven options that never run,
all loss weights zero, an unusually large learning rate.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union

from pydantic import BaseModel

from hamkit.recipe.errors import Origin, RecipeIssue
from hamkit.recipe.schema import RecipeSections
from hamkit.recipe.yaml_source import LineMap, PathKey, dotted


def origin_of(lines: LineMap, path: PathKey) -> Origin:
    """The origin of ``path`` or of its closest written ancestor."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return Origin("<recipe>")


def written_elsewhere(lines: LineMap, path: PathKey, limit: int = 3) -> list[Origin]:
    """Distinct origins of values strictly inside ``path`` from another source than ``path``'s.

    These are the ``--set`` overrides, extending files or ablation variants that changed part
    of a section, in order (at most ``limit``).
    """
    own = origin_of(lines, path).source
    found: list[Origin] = []
    for key, origin in lines.items():
        inside = len(key) > len(path) and key[: len(path)] == path
        if inside and origin.source != own and origin not in found:
            found.append(origin)
    return found[:limit]


def issue_at(lines: LineMap, path: PathKey, message: str) -> RecipeIssue:
    """A recipe issue at ``path``, with its origin."""
    return RecipeIssue(origin_of(lines, path), dotted(path), message)


# --- non-finite numbers --------------------------------------------------------------------


def nonfinite_issues(data: Any, lines: LineMap, path: PathKey = ()) -> list[RecipeIssue]:
    """An issue for every ``inf``/``nan`` float anywhere in ``data``."""
    return [
        issue_at(lines, where, f"must be a finite number (got {value}); .inf and .nan are not "
                 "allowed in recipes")
        for where, value in _leaves(data, path)
        if isinstance(value, float) and not math.isfinite(value)
    ]


def _leaves(data: Any, path: PathKey) -> Iterator[tuple[PathKey, Any]]:
    """Every non-container value of nested dicts/lists with its path."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    else:
        yield path, data


# --- booleans where numbers are expected ---------------------------------------------------


def bool_issues(model: type[BaseModel], data: Any, lines: LineMap, path: PathKey) -> list[RecipeIssue]:
    """An issue for every ``true``/``false`` given to an int or float field of ``model``.

    Pydantic's lax mode reads ``True`` as 1 (``steps: true`` trains one step); recipes
    reject it. Nested models, lists and tuples of the schema are followed.
    """
    if not isinstance(data, dict):
        return []
    issues = []
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is not None:
            issues += _bool_issues_in(field.annotation, value, lines, (*path, key))
    return issues


def _bool_issues_in(annotation: Any, value: Any, lines: LineMap, path: PathKey) -> list[RecipeIssue]:
    """Boolean problems of ``value`` validated as ``annotation``."""
    if isinstance(value, bool):
        number = _number_kind(annotation)
        if number is None:
            return []
        return [issue_at(lines, path, f"expected {number}, got {str(value).lower()} (a boolean)")]
    if isinstance(value, dict):
        nested = _model_in(annotation)
        return bool_issues(nested, value, lines, path) if nested is not None else []
    if isinstance(value, list):
        item_types = _item_annotations(annotation, len(value))
        return [
            issue
            for index, (item, item_type) in enumerate(zip(value, item_types, strict=False))
            for issue in _bool_issues_in(item_type, item, lines, (*path, index))
        ]
    return []


def _alternatives(annotation: Any) -> list[Any]:
    """The members of a union (``X | None``), ``Annotated`` stripped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _alternatives(arg)]
    return [annotation]


def _number_kind(annotation: Any) -> str | None:
    """``"an integer"``/``"a number"`` when the field takes numbers but not booleans, else None."""
    members = _alternatives(annotation)
    if any(member in (bool, str, Any) or typing.get_origin(member) is Literal for member in members):
        return None
    if float in members:
        return "a number"
    if int in members:
        return "an integer"
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model among the members of ``annotation``, if any."""
    for member in _alternatives(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _item_annotations(annotation: Any, length: int) -> list[Any]:
    """The annotation of each item of a list given to ``annotation`` (``list[X]``, ``tuple``)."""
    for member in _alternatives(annotation):
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if origin is list and args:
            return [args[0]] * length
        if origin is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                return [args[0]] * length
            return list(args)
    return []


# --- merging -------------------------------------------------------------------------------


def merge_issues(precise: list[RecipeIssue], general: list[RecipeIssue]) -> list[RecipeIssue]:
    """``precise`` issues plus those of ``general`` at paths ``precise`` does not cover."""
    covered = {issue.path for issue in precise}
    return [*precise, *(issue for issue in general if issue.path not in covered)]


# --- warnings ------------------------------------------------------------------------------


def recipe_warnings(sections: RecipeSections, lines: LineMap) -> tuple[RecipeIssue, ...]:
    """Problems that do not stop a recipe but make its results misleading or incomplete.

    Args:
        sections: The validated sections (pass 1).
        lines: Origins of the recipe's values.

    Returns:
        One issue per warning, with origin and dotted path (print with
        :meth:`RecipeIssue.as_warning`).
    """
    return (
        *_split_warnings(sections, lines),
        *_schedule_warnings(sections, lines),
        *_loss_warnings(sections, lines),
    )


def _split_warnings(sections: RecipeSections, lines: LineMap) -> list[RecipeIssue]:
    split = sections.data.split
    if split.kind == "index_file":
        return []  # the fractions are not used; the engine checks the file's lists
    warnings = []
    if split.test == 0:
        warnings.append(issue_at(
            lines, ("data", "split", "test"),
            "the split leaves no test set: no test metrics will be computed; give e.g. test: 0.1",
        ))
    if split.val == 0:
        uses = _validation_users(sections)
        lost = f" ({', '.join(uses)} will not act)" if uses else ""
        warnings.append(issue_at(
            lines, ("data", "split", "val"),
            f"the split leaves no validation set: no validation metrics and no best checkpoint"
            f"{lost}; give e.g. val: 0.1",
        ))
    return warnings


def _validation_users(sections: RecipeSections) -> list[str]:
    """The train options that need a validation set."""
    train = sections.train
    uses = []
    if train.early_stopping is not None:
        uses.append("train.early_stopping")
    if train.schedule == "plateau":
        uses.append("train.schedule: plateau")
    return uses


def _schedule_warnings(sections: RecipeSections, lines: LineMap) -> list[RecipeIssue]:
    train = sections.train
    warnings = []
    if train.warmup_steps >= train.steps and train.warmup_steps > 0:
        warnings.append(issue_at(
            lines, ("train", "warmup_steps"),
            f"warmup_steps ({train.warmup_steps}) >= steps ({train.steps}): the whole run is "
            f"warmup, the learning rate never reaches lr ({train.lr:g}) before training ends; "
            "lower warmup_steps",
        ))
    needs_validation = _validation_users(sections)
    if needs_validation and train.eval_every == 0:
        warnings.append(issue_at(
            lines, ("train", "eval_every"),
            f"eval_every is 0 (validate only at the end), so {', '.join(needs_validation)} "
            "never acts; set eval_every, e.g. to steps / 10",
        ))
    if train.lr > 1.0:
        warnings.append(issue_at(
            lines, ("train", "lr"),
            f"lr {train.lr:g} is unusually large (Adam learning rates are about 1e-4 to 1e-2); "
            "training will likely diverge",
        ))
    return warnings


def _loss_warnings(sections: RecipeSections, lines: LineMap) -> list[RecipeIssue]:
    if any(term.weight > 0 for term in sections.loss):
        return []
    return [issue_at(lines, ("loss",), "every loss weight is 0: nothing will be trained")]
