"""The decisive convention test: rotate a molecule, recompute S and Hcore with PySCF, and
require S' == D S D^T in the canonical convention (and the same for Hcore)."""

from __future__ import annotations

import numpy as np
import pytest
from pyscf.symm.Dmatrix import Dmatrix

from hamkit.data import OrbitalBasis
from hamkit.physics.orbital_order import OrderConvention, ShellOrder, matrix_to_canonical
from hamkit.physics.rotation import random_rotation, rotate_operator, shell_wigner_d


def _one_electron(mol) -> tuple[np.ndarray, np.ndarray]:
    return mol.intor("int1e_ovlp"), mol.intor("int1e_kin") + mol.intor("int1e_nuc")


def _max_rotation_error(atoms, basis_name, rotation, build_mol, code="pyscf") -> tuple[float, int]:
    mol = build_mol(atoms, basis_name)
    mol_rotated = build_mol(atoms, basis_name, rotation)
    basis = OrbitalBasis.from_pyscf_mol(mol)
    numbers = mol.atom_charges()
    error = 0.0
    for original, recomputed in zip(_one_electron(mol), _one_electron(mol_rotated)):
        canonical = matrix_to_canonical(original, numbers, basis, code)
        expected = rotate_operator(canonical, numbers, basis, rotation)
        error = max(error, float(np.abs(matrix_to_canonical(recomputed, numbers, basis, code) - expected).max()))
    return error, basis.max_l


@pytest.mark.parametrize(
    ("molecule", "basis_name", "expected_max_l"),
    [("formaldehyde", "def2-svp", 2), ("water", "cc-pvtz", 3), ("water", "cc-pvqz", 4)],
)
def test_pyscf_to_canonical_is_rotation_equivariant(molecule, basis_name, expected_max_l, build_mol, rng, request):
    atoms = request.getfixturevalue(molecule)
    for _ in range(2):
        error, max_l = _max_rotation_error(atoms, basis_name, random_rotation(rng), build_mol)
        assert max_l == expected_max_l
        assert error <= 1e-10, f"{basis_name}: S'/Hcore' differ from D M D^T by {error:.2e}"


def _pyscf_with(l: int, order: ShellOrder) -> OrderConvention:
    from hamkit.physics.orbital_order import CONVENTIONS

    correct = CONVENTIONS["pyscf"]
    return OrderConvention("wrong", lambda degree: order if degree == l else correct.shell_order(degree))


@pytest.mark.parametrize(
    "wrong",
    [
        ShellOrder(1, (0, 1, 2), (1, 1, 1)),  # PySCF's raw (x, y, z): not e3nn's order here
        ShellOrder(1, (2, 0, 1), (1, 1, 1)),  # the inverse gather
        ShellOrder(2, (0, 1, 2, 3, 4), (1, 1, 1, -1, 1)),  # one d sign flipped
        ShellOrder(3, (6, 5, 4, 3, 2, 1, 0), (1,) * 7),  # f reversed
    ],
)
def test_wrong_tables_fail_the_rotation_test(wrong, water, build_mol, rng):
    """Negative control: the test above must be able to fail."""
    error, _ = _max_rotation_error(water, "cc-pvtz", random_rotation(rng), build_mol, _pyscf_with(wrong.l, wrong))
    assert error > 1e-3


def test_permutation_only_check_cannot_tell(water, build_mol):
    """Why the rotation test is needed: a wrong p table still gives a symmetric S with ones on
    its diagonal; only the rotation test catches it."""
    mol = build_mol(water, "def2-svp")
    basis = OrbitalBasis.from_pyscf_mol(mol)
    wrong = _pyscf_with(1, ShellOrder(1, (0, 1, 2), (1, 1, 1)))
    s = matrix_to_canonical(mol.intor("int1e_ovlp"), mol.atom_charges(), basis, wrong)
    assert np.allclose(s, s.T)


@pytest.mark.parametrize("l", range(5))
def test_wigner_d_matches_pyscf_dmatrix(l, rng):
    """Independent cross-check: PySCF's real Wigner matrices (m order -l..l, i.e. our
    canonical order) equal ours for the rotation whose l=1 matrix (x, y, z order) PySCF gives."""
    for _ in range(3):
        alpha, beta, gamma = rng.uniform(-np.pi, np.pi), rng.uniform(0, np.pi), rng.uniform(-np.pi, np.pi)
        rotation = Dmatrix(1, alpha, beta, gamma, reorder_p=True)  # Cartesian (x, y, z) rotation
        ours = shell_wigner_d(l, rotation)
        assert np.abs(Dmatrix(l, alpha, beta, gamma, reorder_p=False) - ours).max() < 1e-12
        if l == 1:  # reorder_p=True is PySCF's own (x, y, z) order: our p gather [1, 2, 0]
            gather = [1, 2, 0]
            assert np.abs(Dmatrix(1, alpha, beta, gamma, reorder_p=True)[np.ix_(gather, gather)] - ours).max() < 1e-12
