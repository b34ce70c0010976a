"""Safe YAML loading that remembers the line of every value.

Only ``yaml.SafeLoader`` is used: no tags that build Python objects. Duplicate
keys, which PyYAML silently accepts, are errors here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hamkit.recipe.errors import Origin, RecipeError, RecipeIssue

PathKey = tuple[Any, ...]
"""A location in nested data: dict keys and list indices, e.g. ``("loss", 0, "weight")``."""

LineMap = dict[PathKey, Origin]
"""Where each location was written."""


def dotted(path: PathKey) -> str:
    """``("loss", 0, "weight")`` -> ``"loss.0.weight"``."""
    return ".".join(str(part) for part in path)


def _error(source: str, line: int | None, path: PathKey, message: str) -> RecipeError:
    return RecipeError([RecipeIssue(Origin(source, line), dotted(path), message)])


MAX_VALUES = 100_000
"""Refuse documents whose aliases expand to more values than this ("billion laughs")."""


_PLAIN_TAGS = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}


def _walk(
    node: yaml.Node, source: str, path: PathKey, lines: LineMap,
    parents: tuple[int, ...] = (), line: int | None = None,
) -> Any:
    """Build plain data from a composed node tree, recording origins.

    A mapping value's origin is the line of its key (where users look).
    """
    line = line if line is not None else node.start_mark.line + 1
    plain_tag = _PLAIN_TAGS.get(type(node))
    if plain_tag is not None and node.tag != plain_tag:
        raise _error(source, line, path, f"cannot read a value: tag '{node.tag}' is not allowed")
    if id(node) in parents:
        raise _error(source, line, path, "an alias refers to a mapping or list that contains it")
    if len(lines) >= MAX_VALUES:
        raise _error(source, line, path, f"more than {MAX_VALUES} values (aliases expanding?)")
    lines[path] = Origin(source, line)
    parents = (*parents, id(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _error(source, key_node.start_mark.line + 1, path, "keys must be plain scalars")
            key = _scalar(key_node, source, path)
            if key in result:
                raise _error(source, key_node.start_mark.line + 1, (*path, key),
                             f"key '{key}' appears twice in the same mapping")
            result[key] = _walk(value_node, source, (*path, key), lines, parents,
                                key_node.start_mark.line + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, source, (*path, index), lines, parents) for index, item in enumerate(node.value)]
    return _scalar(node, source, path)


def _scalar(node: yaml.Node, source: str, path: PathKey) -> Any:
    """Construct one scalar with the safe loader; errors carry the node's line."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as error:
        raise _error(source, node.start_mark.line + 1, path, f"cannot read a value: {error.problem}") from None
    except (ValueError, TypeError, OverflowError) as error:
        raise _error(source, node.start_mark.line + 1, path, f"cannot read the value '{node.value}': {error}") from None
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str) -> tuple[Any, LineMap]:
    """Parse one YAML document safely.

    Args:
        text: The YAML text.
        source: Its file name (for messages).

    Returns:
        The data (None for an empty document) and the origin of every location.

    Raises:
        RecipeError: Invalid YAML, several documents, anchors/tags that do not
            construct, or duplicate keys; with file and line.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise _error(source, line, (), f"not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise _error(source, None, (), f"not valid YAML: {error}") from None
    if node is None:
        return None, {(): Origin(source, 1)}
    lines: LineMap = {}
    return _walk(node, source, (), lines), lines


def read_yaml(path: Path) -> tuple[Any, LineMap]:
    """Read and parse a YAML file (see :func:`parse_yaml`).

    Raises:
        RecipeError: The file is missing, unreadable, not UTF-8, or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(str(path), None, (), "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _error(str(path), None, (), f"cannot read the file: {error}") from None
    return parse_yaml(text, str(path))
