"""PySCF periodic cells of hamkit structures, and overlap matrices S(k) in hamkit's convention.

A 2D material (``pbc = (True, True, False)``) is built as a 3D-periodic PySCF cell
(``dimension = 3``) whose third lattice vector spans the vacuum. Reasons:

* PySCF's low-dimensional code paths (``dimension = 2``: truncated Coulomb along a3,
  special G = 0 handling) are supported by fewer density-fitting and pseudopotential
  combinations and converge more slowly in the FFT mesh along a3 than the plain 3D code.
* With enough vacuum (>= ~15 Angstrom between the layers' atoms) the basis functions of
  a layer and its periodic images along a3 do not overlap, so every matrix element with
  a translation ``R3 != 0`` vanishes and the slab labels are those of the isolated layer
  up to the (small, smooth) electrostatic interaction between the neutral layers. The
  k-mesh then has a single point along a3.

Conventions: PySCF's Bloch functions are ``phi_k(r) = sum_T exp(i k.T) phi(r - T)``, so
``S(k)[mu, nu] = sum_T exp(i k.T) <phi_mu(r) | phi_nu(r - T)>``, which is hamkit's
``S(k) = sum_R exp(2 pi i k.R) S(R)`` (:mod:`hamkit.physics.bloch`) with ``T = R @ cell``
the translation of the ket. Matrices returned here are in hamkit's canonical orbital
order (PySCF p shells gathered to (py, pz, px)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.physics.orbital_order import matrix_to_canonical

DEFAULT_PRECISION = 1e-8
"""PySCF ``cell.precision``: cut-off of lattice sums and Gaussian tails (PySCF's default)."""


def build_cell(structure: Structure, basis_name: str, pseudo: str | None,
               *, precision: float = DEFAULT_PRECISION) -> Any:
    """A built ``pyscf.pbc.gto.Cell`` (spherical basis, Angstrom, closed shell, 3D periodic).

    Args:
        structure: A periodic structure (``structure.cell`` rows = lattice vectors,
            Angstrom). A 2D material is built 3D-periodic with its vacuum along a3
            (module docstring).
        basis_name: PySCF basis name, e.g. ``"gth-szv"``.
        pseudo: PySCF pseudopotential name (``"gth-pbe"``) or None for all electrons.
        precision: PySCF ``cell.precision``.

    Returns:
        The built cell (``verbose = 0``).

    Raises:
        ValueError: Non-periodic structure, or an odd electron count (open shells are not
            supported).
    """
    from pyscf.pbc import gto

    if structure.cell is None or not structure.is_periodic:
        raise ValueError("build_cell needs a periodic structure (with a cell and a True pbc entry)")
    atoms = [(int(z), tuple(float(x) for x in xyz))
             for z, xyz in zip(structure.numbers, structure.positions)]
    cell = gto.Cell()
    cell.atom = atoms
    cell.a = np.asarray(structure.cell, dtype=np.float64)
    cell.unit = "Angstrom"
    cell.basis = basis_name
    if pseudo is not None:
        cell.pseudo = pseudo
    cell.charge = int(structure.charge)
    cell.spin = 0
    cell.cart = False
    cell.dimension = 3
    cell.precision = precision
    cell.verbose = 0
    cell.build()
    if cell.nelectron % 2:
        raise ValueError(f"{cell.nelectron} electrons per cell: open shells are not supported")
    return cell


def absolute_kpoints(cell: Any, kpoints_reduced: np.ndarray) -> np.ndarray:
    """Reduced k-points (n_k, 3) to PySCF's absolute k-points (n_k, 3) in 1/Bohr."""
    return np.asarray(cell.get_abs_kpts(np.asarray(kpoints_reduced, dtype=np.float64).reshape(-1, 3)))


def overlap_kpoints(structure: Structure, basis: OrbitalBasis, basis_name: str,
                    pseudo: str | None, kpoints_reduced: np.ndarray) -> np.ndarray:
    """Bloch overlap matrices S(k) in hamkit's canonical order.

    Args:
        structure: The periodic structure.
        basis: The store's basis (shells per element; must match PySCF's).
        basis_name: PySCF basis name.
        pseudo: Pseudopotential name (does not change S, but selects GTH valence shells
            for some basis files) or None.
        kpoints_reduced: (n_k, 3) k-points in reduced coordinates of the reciprocal lattice.

    Returns:
        (n_k, n, n) complex128 Hermitian S(k) = sum_R exp(2 pi i k.R) S(R).

    Raises:
        ValueError: The basis disagrees with PySCF's shells for these elements.
    """
    cell = build_cell(structure, basis_name, pseudo)
    check_basis(cell, structure.numbers, basis)
    kpts = absolute_kpoints(cell, kpoints_reduced)
    overlaps = np.asarray(cell.pbc_intor("int1e_ovlp", hermi=1, kpts=kpts)).reshape(len(kpts), cell.nao, cell.nao)
    return matrix_to_canonical(overlaps, structure.numbers, basis, "pyscf")


def check_basis(cell: Any, numbers: np.ndarray, basis: OrbitalBasis) -> None:
    """Require that the store basis has PySCF's shells on every atom of ``cell``.

    (:meth:`OrbitalBasis.from_pyscf_mol` cannot be used: with a pseudopotential PySCF
    reports the valence charge, not the atomic number, of each atom.)

    Args:
        cell: The built cell.
        numbers: Atomic numbers of its atoms, shape (n_atoms,).
        basis: The store's basis.

    Raises:
        ValueError: An element whose shells differ (names Z and both shell lists), or an
            orbital count that disagrees with PySCF's.
    """
    for atom, atomic_number in enumerate(np.asarray(numbers).tolist()):
        shells: list[int] = []
        for shell in cell.atom_shell_ids(atom):
            shells.extend([int(cell.bas_angular(shell))] * int(cell.bas_nctr(shell)))
        if basis.shell_ls(atomic_number) != tuple(shells):
            raise ValueError(f"PySCF gives Z={atomic_number} shells {tuple(shells)}, "
                             f"the store basis {basis.shell_ls(atomic_number)}")
    if basis.total_orbitals(numbers) != cell.nao_nr():
        raise ValueError("orbital count of the store basis disagrees with PySCF's nao_nr()")
