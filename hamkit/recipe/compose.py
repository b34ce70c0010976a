"""Building one recipe document from ``extends:`` chains and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hamkit.recipe.errors import OVERRIDE_PREFIX, Origin, RecipeError, RecipeIssue
from hamkit.recipe.yaml_source import (
    MAX_DEPTH,
    LineMap,
    PathKey,
    dotted,
    parse_yaml,
    read_yaml,
    too_deep_message,
)

EXTENDS_KEY = "extends"

MAX_EXTENDS_CHAIN = 32
"""Most recipes in one ``extends`` chain (a file extending a file extending ...)."""


def _issue(origin: Origin, path: PathKey, message: str) -> RecipeError:
    return RecipeError([RecipeIssue(origin, dotted(path), message)])


def merge(base: Any, base_lines: LineMap, child: Any, child_lines: LineMap,
          path: PathKey = ()) -> tuple[Any, LineMap]:
    """Deep-merge ``child`` over ``base``: mappings merge key by key, anything else is replaced.

    Returns:
        The merged data and the origin of each location (the child's where it wrote).
    """
    if not (isinstance(base, dict) and isinstance(child, dict)):
        kept = {key: origin for key, origin in base_lines.items() if key[: len(path)] != path}
        kept.update({key: origin for key, origin in child_lines.items() if key[: len(path)] == path})
        return child, kept
    merged = dict(base)
    lines = dict(base_lines)
    if path in child_lines:  # otherwise ``lines`` keeps the base's origin
        lines[path] = child_lines[path]
    for key, value in child.items():
        if key in base:
            merged[key], lines = merge(base[key], lines, value, child_lines, (*path, key))
        else:
            merged[key] = value
            lines.update({k: o for k, o in child_lines.items() if k[: len(path) + 1] == (*path, key)})
    return merged, lines


def read_recipe_document(path: Path, _chain: tuple[Path, ...] = ()) -> tuple[dict, LineMap]:
    """Read a recipe file and everything it ``extends``, merged.

    ``extends`` names one file or a list of files, relative to the extending file;
    later files override earlier ones, and the extending file overrides them all.

    Raises:
        RecipeError: Missing files, cycles, or a document that is not a mapping.
    """
    if len(_chain) >= MAX_EXTENDS_CHAIN:
        raise _issue(Origin(str(path)), (EXTENDS_KEY,),
                     f"more than {MAX_EXTENDS_CHAIN} recipes in one extends chain")
    data, lines = read_yaml(path)
    if data is None:
        data, lines = {}, {(): Origin(str(path), 1)}
    if not isinstance(data, dict):
        raise _issue(lines[()], (), f"a recipe is a mapping of sections, got {type(data).__name__}")
    parents = data.pop(EXTENDS_KEY, None)
    if parents is None:
        return data, lines
    extends_origin = lines[(EXTENDS_KEY,)]
    if isinstance(parents, str):
        parents = [parents]
    if not (isinstance(parents, list) and all(isinstance(p, str) for p in parents)):
        raise _issue(extends_origin, (EXTENDS_KEY,), "expected a file name or a list of file names")
    resolved = path.resolve()
    merged: dict = {}
    merged_lines: LineMap = {}
    for parent in parents:
        parent_path = (path.parent / parent)
        if parent_path.resolve() in (*_chain, resolved):
            raise _issue(extends_origin, (EXTENDS_KEY,), f"'{parent}' extends itself (cycle)")
        if not parent_path.is_file():
            raise _issue(extends_origin, (EXTENDS_KEY,), _not_a_recipe_file(parent_path))
        parent_data, parent_lines = read_recipe_document(parent_path, (*_chain, resolved))
        merged, merged_lines = merge(merged, merged_lines, parent_data, parent_lines)
    own_lines = {key: origin for key, origin in lines.items() if key[:1] != (EXTENDS_KEY,)}
    return merge(merged, merged_lines, data, own_lines)


def _not_a_recipe_file(path: Path) -> str:
    """Why an ``extends`` target that is not a regular file cannot be read."""
    if path.is_dir():
        return f"extended recipe '{path}' is a directory, not a recipe file"
    if path.exists():
        return f"extended recipe '{path}' is not a regular file"
    return f"extended recipe '{path}' not found"


def _index(container: Any, part: str) -> Any:
    """The key or list index addressed by one part of a dotted path."""
    if isinstance(container, list):
        if part.lstrip("-").isdigit() and -len(container) <= int(part) < len(container):
            return int(part) % len(container)
        raise KeyError(part)
    return part


def override_origin(assignment: str) -> Origin:
    """The origin of every value written by ``--set assignment``."""
    return Origin(f"{OVERRIDE_PREFIX}{assignment}")


def _parse_override_value(value_text: str, origin: Origin, parts: list[str]) -> tuple[Any, LineMap]:
    """The YAML value of an override and its locations (relative to the value).

    Raises:
        RecipeError: Invalid YAML, duplicate keys, or nesting too deep (counting the path).
    """
    if len(parts) > MAX_DEPTH:
        raise _issue(origin, (), f"the path has {len(parts)} parts: {too_deep_message()}")
    if not value_text.strip():
        return None, {(): origin}
    try:
        return parse_yaml(value_text, origin.source, depth_offset=len(parts))
    except RecipeError as error:
        issue = error.issues[0]
        where = f" at {issue.path}" if issue.path else ""
        raise _issue(origin, tuple(parts), f"the value{where}: {issue.message}") from None


def apply_override(data: dict, lines: LineMap, assignment: str) -> None:
    """Apply one ``--set path.to.key=value`` in place; the value is parsed as YAML.

    List items are addressed by index (``loss.0.weight=0.5``); missing mapping
    keys are created (validation will reject unknown ones with a suggestion).
    Every location the override writes or creates gets the override as its origin.

    Raises:
        RecipeError: Malformed assignment, invalid value, or a path through a non-container.
    """
    origin = override_origin(assignment)
    key_text, sep, value_text = assignment.partition("=")
    parts = [part.strip() for part in key_text.split(".")]
    if not sep or not all(parts):
        raise _issue(origin, (), "expected --set path.to.key=value, e.g. --set train.lr=1e-3")
    value, value_lines = _parse_override_value(value_text, origin, parts)
    container: Any = data
    path: PathKey = ()
    for part in parts[:-1]:
        try:
            key = _index(container, part)
        except KeyError:
            raise _issue(origin, (*path, part), f"no item {part} in this list") from None
        if not isinstance(container, (dict, list)):
            raise _issue(origin, path, f"cannot set '{part}' inside a {type(container).__name__}")
        if isinstance(container, dict) and key not in container:
            container[key] = {}
            created = (*path, key)
            lines[created] = origin
        container = container[key]
        path = (*path, key)
    if not isinstance(container, (dict, list)):
        raise _issue(origin, path, f"cannot set '{parts[-1]}' inside a {type(container).__name__}")
    try:
        last = _index(container, parts[-1])
    except KeyError:
        raise _issue(origin, (*path, parts[-1]), f"no item {parts[-1]} in this list") from None
    container[last] = value
    path = (*path, last)
    for key in [k for k in lines if k[: len(path)] == path]:
        del lines[key]
    lines.update({(*path, *key): origin for key in value_lines})
