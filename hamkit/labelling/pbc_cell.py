"""PySCF periodic cells of hamkit structures, and overlap matrices S(k) in hamkit's convention.

Dimension: a 2D material (``pbc = (True, True, False)``, vacuum along a3) is built with
PySCF's ``dimension = 2`` (Coulomb interaction truncated along a3; PySCF's lattice sums of
one-electron integrals still include images along a3, which vanish with 15 A of vacuum),
a bulk crystal with ``dimension = 3``. The 3D alternative (a periodic stack of
layers separated by vacuum) was measured and rejected for labels (hBN, GTH-PBE, 4x4 mesh):

* its absolute energies are relative to the cell's average electrostatic potential, so
  every H(R) shifts by c S(R) with the vacuum (1.4 eV between 15 and 30 A of vacuum),
  and with the in-plane area, i.e. with strain;
* a layer with a small dipole (any out-of-plane displacement of B against N) feels a
  spurious field of its periodic images, scaling as 1/|a3|: 13 meV in H between 15 and
  30 A of vacuum after removing the shift.

With ``dimension = 2`` the converged Kohn-Sham matrix changes by 0.001 meV between 15
and 20 A of vacuum (0.36 meV at 12 A, 12 meV at 10 A), the SCF costs the same, and the
potential is referenced to the vacuum. PySCF's build warns that the vacuum "may not be
enough" below ~19 A for these bases (a heuristic: twice the basis cut-off radius); that
warning is suppressed because the measurement above shows 15 A is converged. The k-mesh
has a single point along a3.

Conventions: PySCF's Bloch functions are ``phi_k(r) = sum_T exp(i k.T) phi(r - T)``, so
``S(k)[mu, nu] = sum_T exp(i k.T) <phi_mu(r) | phi_nu(r - T)>``, which is hamkit's
``S(k) = sum_R exp(2 pi i k.R) S(R)`` (:mod:`hamkit.physics.bloch`) with ``T = R @ cell``
the translation of the ket. Matrices returned here are in hamkit's canonical orbital
order (PySCF p shells gathered to (py, pz, px)).
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.physics.orbital_order import matrix_to_canonical

DEFAULT_PRECISION = 1e-8
"""PySCF ``cell.precision``: cut-off of lattice sums and Gaussian tails (PySCF's default)."""
VACUUM_WARNING = "Size of vacuum may not be enough"


def pbc_dimension(pbc: tuple[bool, bool, bool]) -> int:
    """PySCF ``cell.dimension`` of a periodicity: 3 for (T, T, T), 2 for (T, T, F), 1 for (T, F, F).

    Raises:
        ValueError: Other patterns (PySCF wants the periodic axes first).
    """
    dimension = sum(pbc)
    if tuple(pbc) != tuple(axis < dimension for axis in range(3)) or dimension == 0:
        raise ValueError(f"pbc {tuple(pbc)} is not supported: the periodic lattice vectors must "
                         "come first (a 2D material has pbc (True, True, False))")
    return dimension


def build_cell(structure: Structure, basis_name: str, pseudo: str | None,
               *, precision: float = DEFAULT_PRECISION) -> Any:
    """A built ``pyscf.pbc.gto.Cell`` (spherical basis, Angstrom, closed shell).

    Args:
        structure: A periodic structure (``structure.cell`` rows = lattice vectors,
            Angstrom). A 2D material is built with ``dimension = 2`` (module docstring).
        basis_name: PySCF basis name, e.g. ``"gth-szv"``.
        pseudo: PySCF pseudopotential name (``"gth-pbe"``) or None for all electrons.
        precision: PySCF ``cell.precision``.

    Returns:
        The built cell (``verbose = 0``).

    Raises:
        ValueError: Non-periodic structure, unsupported pbc pattern, or an odd electron
            count (open shells are not supported).
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
    cell.dimension = pbc_dimension(structure.pbc)
    cell.precision = precision
    cell.verbose = 0
    rebuild_quietly(cell)
    if cell.nelectron % 2:
        raise ValueError(f"{cell.nelectron} electrons per cell: open shells are not supported")
    return cell


def rebuild_quietly(cell: Any) -> None:
    """``cell.build()`` without PySCF's vacuum-size heuristic warning (module docstring).

    Anything else PySCF writes to stderr during the build is passed on.
    """
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        cell.build()
    text = captured.getvalue()
    if text and VACUUM_WARNING not in text:
        sys.stderr.write(text)


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
