"""Reference molecules for the format-reader tests: RHF/def2-SVP with PySCF, computed once.

Water and formaldehyde (the molecule with carbon). RHF needs no DFT grid, so H is exact;
the SCF is converged tightly (gradient 1e-9) so that the eigenvalues of the Fock matrix of
the final density equal PySCF's ``mf.mo_energy`` to ~1e-9 Ha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import hamkit  # noqa: F401 - before anything that may import e3nn

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.orbital_order import matrix_to_canonical

GEOMETRIES = {
    "water": ([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]),
    "formaldehyde": ([6, 8, 1, 1], [[0.0, 0.0, -0.5296], [0.0, 0.0, 0.6783],
                                    [0.0, 0.9377, -1.1135], [0.0, -0.9377, -1.1135]]),
}
BASIS_NAME = "def2-svp"


@dataclass(frozen=True)
class Reference:
    """One molecule with its PySCF labels.

    Attributes:
        name: Molecule name.
        numbers: Atomic numbers, (n_atoms,).
        positions: Angstrom, (n_atoms, 3).
        fock: Fock matrix in PySCF order, Hartree, (n, n).
        overlap: Overlap in PySCF order, (n, n).
        hamiltonian: Fock matrix in canonical order.
        canonical_overlap: Overlap in canonical order.
        mo_energy: PySCF's orbital energies, Hartree, (n,).
        energy: Total energy, Hartree.
    """

    name: str
    numbers: np.ndarray
    positions: np.ndarray
    fock: np.ndarray
    overlap: np.ndarray
    hamiltonian: np.ndarray
    canonical_overlap: np.ndarray
    mo_energy: np.ndarray
    energy: float


def compute_reference(name: str) -> Reference:
    """Run RHF/def2-SVP for one of :data:`GEOMETRIES`."""
    from pyscf import gto, scf

    numbers, positions = (np.asarray(a) for a in GEOMETRIES[name])
    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(numbers, positions)], unit="Angstrom",
                basis=BASIS_NAME, verbose=0)
    solver = scf.RHF(mol)
    solver.conv_tol = 1e-13
    solver.conv_tol_grad = 1e-9
    solver.kernel()
    assert solver.converged
    fock = solver.get_fock(dm=solver.make_rdm1())
    overlap = mol.intor("int1e_ovlp")
    basis = OrbitalBasis.from_name(BASIS_NAME, [1, 6, 8])
    return Reference(name, numbers.astype(np.int64), positions.astype(np.float64), fock, overlap,
                     matrix_to_canonical(fock, numbers, basis, "pyscf"),
                     matrix_to_canonical(overlap, numbers, basis, "pyscf"),
                     np.asarray(solver.mo_energy), float(solver.e_tot))


@pytest.fixture(scope="session")
def references() -> list[Reference]:
    """Water and formaldehyde, RHF/def2-SVP."""
    return [compute_reference(name) for name in GEOMETRIES]


@pytest.fixture(scope="session")
def basis() -> OrbitalBasis:
    """def2-SVP for H, C, O."""
    return OrbitalBasis.from_name(BASIS_NAME, [1, 6, 8])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own overlap cache folder."""
    monkeypatch.setenv("HAMKIT_CACHE", str(tmp_path / "cache"))
