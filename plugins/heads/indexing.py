"""Index bookkeeping between a graph's block list, its pairs and the packed layout."""

from __future__ import annotations

import torch

from hamkit.errors import HamkitError


def locate_pairs(
    query: torch.Tensor, table: torch.Tensor, n_atoms: int, what: str
) -> torch.Tensor:
    """Position of each query pair (i, j) in a table of pairs.

    Args:
        query: (2, n_query) atom index pairs.
        table: (2, n_table) atom index pairs, each at most once.
        n_atoms: Number of atoms (keys are ``i * n_atoms + j``).
        what: Name of the table for the error message.

    Returns:
        (n_query,) long positions into ``table``.

    Raises:
        HamkitError: A query pair is not in the table.
    """
    if query.shape[1] == 0:
        return torch.zeros(0, dtype=torch.long, device=query.device)
    keys = table[0] * n_atoms + table[1]
    order = torch.argsort(keys)
    sorted_keys = keys[order]
    wanted = query[0] * n_atoms + query[1]
    position = torch.searchsorted(sorted_keys, wanted).clamp(max=max(len(sorted_keys) - 1, 0))
    found = sorted_keys[position] == wanted if len(sorted_keys) else torch.zeros_like(wanted, dtype=torch.bool)
    if not bool(found.all()):
        k = int(torch.nonzero(~found)[0, 0])
        raise HamkitError(
            f"pair ({int(query[0, k])}, {int(query[1, k])}) is missing from {what}; "
            "pair_index must list every pair in both directions"
        )
    return order[position]


def packed_offsets(sizes: torch.Tensor) -> torch.Tensor:
    """Start of each block in the packed vector: exclusive cumulative sum, shape (n_blocks + 1,)."""
    return torch.cat([sizes.new_zeros(1), torch.cumsum(sizes, dim=0)])
