"""Neighbour lists of molecules and periodic structures (matscipy's linked-cell search)."""

from __future__ import annotations

import numpy as np


def molecule_pairs(positions: np.ndarray, cutoff: float | None) -> np.ndarray:
    """Ordered atom pairs (i, j), i != j, closer than ``cutoff`` (all pairs when None).

    Uses matscipy's linked-cell neighbour list (open boundaries) for a finite cutoff.

    Args:
        positions: (n_atoms, 3) Angstrom.
        cutoff: Radius in Angstrom, or None for the fully connected graph.

    Returns:
        (2, n_pairs) int64, sorted by i then j.
    """
    n = len(positions)
    if cutoff is None or n < 2:
        i, j = np.nonzero(~np.eye(n, dtype=bool))
        return np.stack([i, j]).astype(np.int64)
    from matscipy.neighbours import neighbour_list

    span = np.ptp(positions, axis=0) + 2.0 * cutoff + 1.0
    i, j = neighbour_list("ij", positions=positions - positions.min(axis=0) + cutoff,
                          cutoff=cutoff, cell=np.diag(span), pbc=[False, False, False])
    order = np.lexsort((j, i))
    return np.stack([i[order], j[order]]).astype(np.int64)


def periodic_pairs(
    positions: np.ndarray, cell: np.ndarray, pbc: tuple[bool, bool, bool], cutoff: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs (i, j, R) of atoms and periodic images closer than ``cutoff``.

    Atom j of the cell translated by ``R @ cell`` is a neighbour of atom i when
    ``|pos_j + R @ cell - pos_i| < cutoff``. Self-images (i, i, R != 0) are included,
    (i, i, 0) is not; every (i, j, R) comes with its reverse (j, i, -R).

    Args:
        positions: (n_atoms, 3) Angstrom (need not lie inside the cell).
        cell: (3, 3) lattice vectors as rows, Angstrom.
        pbc: Periodic directions; no images are taken along the others.
        cutoff: Radius in Angstrom.

    Returns:
        ``(pair_index (2, n_pairs) int64, cell_shift (n_pairs, 3) int64)`` sorted by i, j,
        then R.
    """
    from matscipy.neighbours import neighbour_list

    i, j, shift = neighbour_list("ijS", positions=np.asarray(positions, dtype=np.float64),
                                 cell=np.asarray(cell, dtype=np.float64), pbc=list(pbc), cutoff=cutoff)
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], j, i))
    return np.stack([i[order], j[order]]).astype(np.int64), shift[order].astype(np.int64)
