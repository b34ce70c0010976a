"""Recipe errors that point at the file, line and dotted path of the problem."""

from __future__ import annotations

from dataclasses import dataclass

from hamkit.errors import HamkitError


@dataclass(frozen=True)
class Origin:
    """Where a recipe value was written.

    Attributes:
        source: A file path, or a description such as ``"--set train.lr=1e-3"``.
        line: 1-based line number in ``source``, or None.
    """

    source: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source


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


class RecipeError(HamkitError):
    """A recipe that cannot be used; lists every issue found, one per line."""

    def __init__(self, issues: list[RecipeIssue]) -> None:
        self.issues = issues
        count = f"{len(issues)} problems" if len(issues) > 1 else "1 problem"
        lines = "\n".join(f"  {issue}" for issue in issues)
        super().__init__(f"invalid recipe ({count}):\n{lines}")
