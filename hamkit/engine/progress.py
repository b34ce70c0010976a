"""Progress bars for long work (rich), quiet when output is not a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

Item = TypeVar("Item")


def progress_bar(*extra_columns: TextColumn, **options: Any) -> Progress:
    """A progress bar with count, elapsed time and ETA, plus any extra columns.

    Args:
        extra_columns: Columns between the count and the elapsed time.
        options: Passed to ``rich.progress.Progress`` (``console``, ``transient``, ``disable``).
    """
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        *extra_columns, TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        **{"transient": False, **options},
    )


def track(items: Sequence[Item] | Iterable[Item], description: str) -> Iterator[Item]:
    """Iterate with a progress bar."""
    items = list(items)
    with progress_bar() as progress:
        task = progress.add_task(description, total=len(items))
        for item in items:
            yield item
            progress.advance(task)
