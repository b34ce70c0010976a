"""Per element-pair Clebsch-Gordan expansion tables: irreps -> flattened atom-pair block.

For the block between an atom of element ``Z_row`` and one of ``Z_col`` (canonical orbital
order, see ``hamkit.physics.orbital_order``), every (shell a, shell b) sub-block of degrees
``(la, lb)`` is ``sum_L C_L x_L`` over ``L = |la - lb| .. la + lb`` with
``C_L = sqrt(2L + 1) wigner_3j(la, lb, L)`` (``hamkit.physics.irreps.cg_basis``). Gathering
every sub-block's irreps in one vector grouped by irrep gives a single dense matrix ``E`` with
``block.flatten() = x @ E``: one matrix product per element pair expands all its blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.irreps import cg_basis

Irrep = tuple[int, int]
"""(degree L, parity p) with p = +1 (even) or -1 (odd)."""


@dataclass(frozen=True)
class PairExpansion:
    """How to build the blocks of one element pair from irreps.

    Attributes:
        irreps: ``((count, (L, p)), ...)`` sorted by ``(L, p)``: the irreps the linear map must
            output (each sub-block contributes one copy of each of its ``L``).
        matrix: (sum count * (2L + 1), n_row * n_col) float64 ``E``.
        missing: Irreps needed by the basis but left out (not available in the features);
            their sub-block components are zero.
        transpose: (n_row * n_col,) int64: entry ``a * n_col + b`` holds ``b * n_row + a``,
            the position of element (a, b) in the flattened *transposed* block.
    """

    irreps: tuple[tuple[int, Irrep], ...]
    matrix: np.ndarray
    missing: tuple[Irrep, ...]
    transpose: np.ndarray


def needed_irrep(l_row: int, l_col: int, big_l: int, parity: str) -> Irrep:
    """Irrep of the degree-``big_l`` component of an (l_row, l_col) sub-block.

    ``parity="physical"``: ``(-1)^(l_row + l_col)`` (orbitals of degree l have parity (-1)^l);
    ``"ignore"``: always even (SO(3)-only features, see the head's documentation).
    """
    if parity == "physical":
        return (big_l, (-1) ** (l_row + l_col))
    return (big_l, 1)


def pair_expansion(
    basis: OrbitalBasis, z_row: int, z_col: int, parity: str, available: set[Irrep] | None
) -> PairExpansion:
    """Build the expansion of the (z_row, z_col) block.

    Args:
        basis: Shells per element.
        z_row: Element of the row atom.
        z_col: Element of the column atom.
        parity: ``"ignore"`` or ``"physical"`` (see :func:`needed_irrep`).
        available: Irreps the features provide (None: all).

    Returns:
        The expansion table.
    """
    ls_row, ls_col = basis.shell_ls(z_row), basis.shell_ls(z_col)
    rows, cols = basis.shell_slices(z_row), basis.shell_slices(z_col)
    n_row, n_col = basis.n_orbitals(z_row), basis.n_orbitals(z_col)
    # (irrep) -> list of (sub-block rows, cols, C_L)
    channels: dict[Irrep, list[tuple[slice, slice, np.ndarray]]] = {}
    missing: set[Irrep] = set()
    for a, la in enumerate(ls_row):
        for b, lb in enumerate(ls_col):
            for big_l, cg in cg_basis(la, lb):
                irrep = needed_irrep(la, lb, big_l, parity)
                if available is not None and irrep not in available:
                    missing.add(irrep)
                    continue
                channels.setdefault(irrep, []).append((rows[a], cols[b], cg))
    order = sorted(channels)
    dim = sum(len(channels[ir]) * (2 * ir[0] + 1) for ir in order)
    matrix = np.zeros((dim, n_row, n_col))
    start = 0
    for irrep in order:
        width = 2 * irrep[0] + 1
        for row_slice, col_slice, cg in channels[irrep]:
            # cg: (2la+1, 2lb+1, 2L+1); sub-block = sum_k x_k cg[:, :, k]
            matrix[start : start + width, row_slice, col_slice] = np.moveaxis(cg, -1, 0)
            start += width
    a_idx, b_idx = np.meshgrid(np.arange(n_row), np.arange(n_col), indexing="ij")
    return PairExpansion(
        irreps=tuple((len(channels[ir]), ir) for ir in order),
        matrix=matrix.reshape(dim, n_row * n_col),
        missing=tuple(sorted(missing)),
        transpose=(b_idx * n_row + a_idx).reshape(-1).astype(np.int64),
    )
