"""Exact real-space overlap matrices S(R) of a periodic structure (PySCF integrals).

``S(R)[mu, nu] = <phi_mu(r - tau_i) | phi_nu(r - tau_j - R @ cell)>`` is an ordinary
two-centre integral between the home cell's basis functions and those of the cell
translated by R, so it is computed without any lattice sum or k-mesh: PySCF's
``intor_cross`` between the cell and a translated copy of its atoms.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.labelling.pbc_cell import build_cell, check_basis
from hamkit.physics.orbital_order import matrix_to_canonical


def real_space_overlap(
    structure: Structure, basis: OrbitalBasis, basis_name: str, pseudo: str | None,
    translations: np.ndarray,
) -> np.ndarray:
    """S(R) at the given lattice translations, canonical order.

    Args:
        structure: The periodic structure.
        basis: The model's (or store's) basis; must be PySCF's shells of ``basis_name``.
        basis_name: PySCF basis name, e.g. ``"gth-szv"``.
        pseudo: Pseudopotential name (selects GTH valence shells for some basis files) or None.
        translations: (n_R, 3) integer lattice translations.

    Returns:
        (n_R, n, n) float64; ``S(-R) = S(R)^T`` exactly when both are asked for.

    Raises:
        ValueError: The basis disagrees with PySCF's shells.
    """
    from pyscf import gto

    home = build_cell(structure, basis_name, pseudo)
    check_basis(home, structure.numbers, basis)
    cell = structure.require_cell()
    computed: dict[tuple[int, ...], np.ndarray] = {}
    matrices = []
    for translation in np.asarray(translations, dtype=np.int64).reshape(-1, 3):
        partner = computed.get(tuple((-translation).tolist()))
        if partner is not None:  # S(-R) = S(R)^T, exactly
            matrices.append(partner.T)
            continue
        shift = translation.astype(np.float64) @ cell
        moved = build_cell(replace(structure, positions=structure.positions + shift), basis_name, pseudo)
        matrix = gto.intor_cross("int1e_ovlp", home, moved)
        matrices.append(0.5 * (matrix + matrix.T) if not translation.any() else matrix)
        computed[tuple(translation.tolist())] = matrices[-1]
    stacked = np.asarray(matrices).reshape(-1, home.nao, home.nao)
    return matrix_to_canonical(stacked, structure.numbers, basis, "pyscf")
