"""Index bookkeeping between a graph's block list, its pairs and the packed layout."""

from __future__ import annotations

import torch

from hamkit.errors import HamkitError


def _shift_codes(query_shift: torch.Tensor, table_shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Encode lattice translations (n, 3) as non-negative integers below the returned base."""
    reach = int(max(query_shift.abs().max() if query_shift.numel() else 0,
                    table_shift.abs().max() if table_shift.numel() else 0)) + 1
    width = 2 * reach + 1

    def code(shift: torch.Tensor) -> torch.Tensor:
        shifted = shift.long() + reach
        return (shifted[:, 0] * width + shifted[:, 1]) * width + shifted[:, 2]

    return code(query_shift), code(table_shift), width ** 3


def locate_pairs(
    query: torch.Tensor, table: torch.Tensor, n_atoms: int, what: str,
    query_shift: torch.Tensor | None = None, table_shift: torch.Tensor | None = None,
) -> torch.Tensor:
    """Position of each query pair (i, j) (periodic: (i, j, R)) in a table of pairs.

    Args:
        query: (2, n_query) atom index pairs.
        table: (2, n_table) atom index pairs, each at most once (per translation).
        n_atoms: Number of atoms (keys are ``i * n_atoms + j``).
        what: Name of the table for the error message.
        query_shift: Periodic only: (n_query, 3) lattice translation of each query pair.
        table_shift: Periodic only: (n_table, 3) lattice translation of each table pair.

    Returns:
        (n_query,) long positions into ``table``.

    Raises:
        HamkitError: A query pair is not in the table.
    """
    if query.shape[1] == 0:
        return torch.zeros(0, dtype=torch.long, device=query.device)
    keys = table[0] * n_atoms + table[1]
    wanted = query[0] * n_atoms + query[1]
    if (query_shift is None) != (table_shift is None):
        raise HamkitError(f"periodic pairs need lattice translations for both the query and {what}")
    if query_shift is not None and table_shift is not None:
        query_code, table_code, base = _shift_codes(query_shift, table_shift)
        keys, wanted = keys * base + table_code, wanted * base + query_code
    order = torch.argsort(keys)
    sorted_keys = keys[order]
    position = torch.searchsorted(sorted_keys, wanted).clamp(max=max(len(sorted_keys) - 1, 0))
    found = sorted_keys[position] == wanted if len(sorted_keys) else torch.zeros_like(wanted, dtype=torch.bool)
    if not bool(found.all()):
        k = int(torch.nonzero(~found)[0, 0])
        image = "" if query_shift is None else f" with translation {query_shift[k].tolist()}"
        raise HamkitError(
            f"pair ({int(query[0, k])}, {int(query[1, k])}){image} is missing from {what}; "
            "pair_index must list every pair in both directions"
        )
    return order[position]


def packed_offsets(sizes: torch.Tensor) -> torch.Tensor:
    """Start of each block in the packed vector: exclusive cumulative sum, shape (n_blocks + 1,)."""
    return torch.cat([sizes.new_zeros(1), torch.cumsum(sizes, dim=0)])
