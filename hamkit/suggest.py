"""Did-you-mean suggestions for misspelt names (components, options, sections)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name``, or None if none is close.

    Args:
        name: What the user wrote.
        candidates: The valid names.

    Returns:
        The best match with similarity >= 0.6 (case-insensitive), else None.
    """
    pool = {candidate.lower(): candidate for candidate in candidates}
    match = difflib.get_close_matches(name.lower(), list(pool), n=1, cutoff=0.6)
    return pool[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A sentence to append to an error: the closest valid name and the full list.

    Args:
        name: What the user wrote.
        candidates: The valid names.

    Returns:
        For example ``" Did you mean 'qhnet'? Valid: deeph_e3, mace, qhnet."``, or
        only the list when nothing is close, or ``" Nothing is registered."``.
    """
    valid = sorted(set(candidates))
    if not valid:
        return " Nothing is registered."
    best = closest_name(name, valid)
    hint = f" Did you mean '{best}'?" if best else ""
    return f"{hint} Valid: {', '.join(valid)}."
