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

MAX_DEPTH = 64
"""Refuse mappings/lists nested deeper than this (a recipe needs about 5 levels); deeper
documents would exhaust Python's recursion limit in the YAML composer and beyond."""

MAX_BYTES = 4 * 1024 * 1024
"""Refuse recipe/YAML files larger than this (recipes are a few kB)."""


def too_deep_message() -> str:
    """The message for data nested deeper than :data:`MAX_DEPTH` levels."""
    return (
        f"nested deeper than {MAX_DEPTH} levels of mappings/lists (a recipe needs about 5); "
        "is a bracket unclosed, or was the file generated wrongly?"
    )


class _TooDeep(Exception):
    """Raised by the composer at the first collection deeper than its limit."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__("too deep")
        self.mark = mark


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader whose (recursive) composer stops at ``max_depth`` collections."""

    def __init__(self, stream: str, max_depth: int) -> None:
        super().__init__(stream)
        self._max_depth = max_depth
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        is_collection = self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent)
        if is_collection and self._depth >= self._max_depth:
            raise _TooDeep(self.peek_event().start_mark)
        self._depth += is_collection
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= is_collection


_PLAIN_TAGS = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}


def _walk(
    node: yaml.Node, source: str, path: PathKey, lines: LineMap,
    parents: tuple[int, ...] = (), line: int | None = None, max_depth: int = MAX_DEPTH,
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
    if plain_tag is not None and len(path) >= max_depth:
        # Aliases can nest collections deeper than the composer saw.
        raise _error(source, line, path[:max_depth], too_deep_message())
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
                                key_node.start_mark.line + 1, max_depth)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, source, (*path, index), lines, parents, None, max_depth)
                for index, item in enumerate(node.value)]
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


def _compose(text: str, max_depth: int) -> yaml.Node | None:
    """The node tree of one document, refusing nesting deeper than ``max_depth``."""
    loader = _DepthLimitedLoader(text, max_depth)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str, depth_offset: int = 0) -> tuple[Any, LineMap]:
    """Parse one YAML document safely.

    Args:
        text: The YAML text.
        source: Its file name (for messages).
        depth_offset: Levels above the document's root (a ``--set`` value's path length):
            the document may nest ``MAX_DEPTH - depth_offset`` levels.

    Returns:
        The data (None for an empty document) and the origin of every location.

    Raises:
        RecipeError: Invalid YAML, several documents, anchors/tags that do not
            construct, duplicate keys, or nesting deeper than :data:`MAX_DEPTH`; with file
            and line.
    """
    max_depth = max(MAX_DEPTH - depth_offset, 0)
    try:
        node = _compose(text, max_depth)
    except _TooDeep as error:
        line = error.mark.line + 1 if error.mark is not None else None
        raise _error(source, line, (), too_deep_message()) from None
    except RecursionError:
        raise _error(source, None, (), too_deep_message()) from None
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
    return _walk(node, source, (), lines, max_depth=max_depth), lines


def _read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_BYTES` bytes.

    Raises:
        RecipeError: Missing, a directory or device, too large, unreadable, or not UTF-8 text.
    """
    source = str(path)
    if not path.exists():
        raise _error(source, None, (), "file not found")
    if path.is_dir():
        raise _error(source, None, (), "is a directory; give a recipe file (.yaml)")
    if not path.is_file():
        raise _error(source, None, (), "is not a regular file; give a recipe file (.yaml)")
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as error:
        raise _error(source, None, (), f"cannot read the file: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:
        raise _error(source, None, (), f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a recipe")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _error(source, line, (), f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset "
                     f"{error.start}): is this a binary file? Recipes are YAML text") from None


def read_yaml(path: Path) -> tuple[Any, LineMap]:
    """Read and parse a YAML file (see :func:`parse_yaml`).

    Raises:
        RecipeError: The file is missing, unreadable, not UTF-8, or invalid.
    """
    return parse_yaml(_read_text(path), str(path))
