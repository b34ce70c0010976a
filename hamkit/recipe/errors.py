"""Recipe errors that point at the file, line and dotted path of the problem."""

from __future__ import annotations

from dataclasses import dataclass

from hamkit.errors import HamkitError

OVERRIDE_PREFIX = "--set "
"""How the origin of a command-line override starts: ``--set train.lr=1e-3``."""

MAX_OVERRIDE_SHOWN = 80
"""Longer ``--set`` texts are shortened in messages (the origin keeps the whole text)."""


@dataclass(frozen=True)
class Origin:
    """Where a recipe value was written.

    Attributes:
        source: A file path, or a description such as ``"--set train.lr=1e-3"``.
        line: 1-based line number in ``source``, or None.
    """

    source: str
    line: int | None = None

    @property
    def is_override(self) -> bool:
        """Whether the value came from a ``--set`` on the command line."""
        return self.source.startswith(OVERRIDE_PREFIX)

    def __str__(self) -> str:
        source = self.source
        if self.is_override and len(source) > MAX_OVERRIDE_SHOWN:
            source = source[: MAX_OVERRIDE_SHOWN - 3] + "..."
        return f"{source}:{self.line}" if self.line is not None else source


@dataclass(frozen=True)
class RecipeIssue:
    """One problem in a recipe.

    Attributes:
        origin: Where the offending value (or its closest parent) was written.
        path: Dotted path in the resolved recipe, e.g. ``"model.featurizer.hidden"``.
        message: What is wrong and what was expected, including any suggestion.
    """

    origin: Origin
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.origin}: {where}{self.message}"

    def as_warning(self) -> str:
        """``warning: FILE:LINE: PATH: MESSAGE``, as the command line prints warnings."""
        return f"warning: {self}"


class RecipeError(HamkitError):
    """A recipe that cannot be used; lists every issue found, one per line."""

    def __init__(self, issues: list[RecipeIssue]) -> None:
        self.issues = issues
        count = f"{len(issues)} problems" if len(issues) > 1 else "1 problem"
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"invalid recipe ({count}):\n{lines}")
