"""Species lookup: atomic numbers to rows of a per-element table (embeddings, maps).

A component built for the elements ``species = (Z_0, Z_1, ...)`` (sorted, unique) keeps
a table ``table[Z] = k`` for ``Z = species[k]`` and ``-1`` for every other element, as a
non-persistent buffer (rebuilt from the options, so it never enters a checkpoint):

    self.register_buffer("species_lookup", species_table(species, "my_featurizer"), persistent=False)
    rows = species_indices(self.species_lookup, graph.z, "my_featurizer")
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hamkit.errors import HamkitError

MAX_ATOMIC_NUMBER = 118
"""Largest atomic number (oganesson); the table has one entry per Z = 0..118."""


def species_table(species: Sequence[int], component: str) -> torch.Tensor:
    """The lookup table of ``species``: ``table[species[k]] = k``, ``-1`` elsewhere.

    Args:
        species: Atomic numbers, sorted and unique; row ``k`` belongs to ``species[k]``.
        component: Name used in the error message (e.g. ``"qhnet"``).

    Returns:
        Long tensor of shape (MAX_ATOMIC_NUMBER + 1,).

    Raises:
        HamkitError: An atomic number outside 1..MAX_ATOMIC_NUMBER.
    """
    species = list(species)
    if any(not 1 <= z <= MAX_ATOMIC_NUMBER for z in species):
        raise HamkitError(
            f"{component}: species must be atomic numbers 1..{MAX_ATOMIC_NUMBER}, got {species}"
        )
    table = torch.full((MAX_ATOMIC_NUMBER + 1,), -1, dtype=torch.long)
    table[species] = torch.arange(len(species))
    return table


def species_indices(
    table: torch.Tensor, z: torch.Tensor, component: str, missing: str = "are not in the embedding"
) -> torch.Tensor:
    """Rows of the atoms' elements in a table made by :func:`species_table`.

    Args:
        table: The lookup table, shape (MAX_ATOMIC_NUMBER + 1,).
        z: Atomic numbers, shape (n_atoms,), any integer dtype.
        component: Name that starts the error message (e.g. ``"qhnet"``).
        missing: What the unknown elements are, completing
            ``"element(s) Z=[...] <missing> (built for Z=[...])"``.

    Returns:
        Row indices, long tensor of shape (n_atoms,).

    Raises:
        HamkitError: Elements the table has no row for (naming them and the known ones);
            also atomic numbers below 1 or above MAX_ATOMIC_NUMBER.
    """
    z = z.long()
    index = table[z.clamp(0, MAX_ATOMIC_NUMBER)]
    outside = z > MAX_ATOMIC_NUMBER
    if bool((index < 0).any()) or bool(outside.any()):
        unknown = sorted(set(z[(index < 0) | outside].tolist()))
        known = torch.nonzero(table >= 0).flatten().tolist()
        raise HamkitError(f"{component}: element(s) Z={unknown} {missing} (built for Z={known})")
    return index
