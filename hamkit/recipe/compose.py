"""Building one recipe document from ``extends:`` chains and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hamkit.recipe.errors import Origin, RecipeError, RecipeIssue
from hamkit.recipe.yaml_source import LineMap, PathKey, dotted, read_yaml

EXTENDS_KEY = "extends"


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
    lines[path] = child_lines.get(path, base_lines.get(path))
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
            raise _issue(extends_origin, (EXTENDS_KEY,), f"extended recipe '{parent_path}' not found")
        parent_data, parent_lines = read_recipe_document(parent_path, (*_chain, resolved))
        merged, merged_lines = merge(merged, merged_lines, parent_data, parent_lines)
    own_lines = {key: origin for key, origin in lines.items() if key[:1] != (EXTENDS_KEY,)}
    return merge(merged, merged_lines, data, own_lines)


def _index(container: Any, part: str) -> Any:
    """The key or list index addressed by one part of a dotted path."""
    if isinstance(container, list):
        if part.lstrip("-").isdigit() and -len(container) <= int(part) < len(container):
            return int(part) % len(container)
        raise KeyError(part)
    return part


def apply_override(data: dict, lines: LineMap, assignment: str) -> None:
    """Apply one ``--set path.to.key=value`` in place; the value is parsed as YAML.

    List items are addressed by index (``loss.0.weight=0.5``); missing mapping
    keys are created (validation will reject unknown ones with a suggestion).

    Raises:
        RecipeError: Malformed assignment, or a path through a non-container.
    """
    origin = Origin(f"--set {assignment}")
    key_text, sep, value_text = assignment.partition("=")
    parts = [part.strip() for part in key_text.split(".")]
    if not sep or not all(parts):
        raise _issue(origin, (), "expected --set path.to.key=value, e.g. --set train.lr=1e-3")
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError as error:
        raise _issue(origin, tuple(parts), f"the value is not valid YAML: {error}") from None
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
    lines[path] = origin
