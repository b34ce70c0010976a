"""Shell tables of the codes: exact round trips and consistency with orbital labels."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.data import OrbitalBasis
from hamkit.physics.orbital_order import (
    CONVENTIONS,
    ShellOrder,
    get_convention,
    matrix_from_canonical,
    matrix_to_canonical,
    orbital_gather_and_signs,
    rows_to_canonical,
)

SPD_BASIS = OrbitalBasis.from_shells({1: [0, 0, 1], 8: [0, 0, 0, 1, 1, 2]})
SPDF_BASIS = OrbitalBasis.from_shells({1: [0, 1], 6: [0, 1, 2, 3]})
SPDFG_BASIS = OrbitalBasis.from_shells({1: [0, 1, 2], 6: [0, 1, 2, 3, 4]})
MAX_L = {"canonical": 4, "pyscf": 4, "orca": 4, "openmx": 3, "aims": 2}
BASIS_FOR_MAX_L = {2: SPD_BASIS, 3: SPDF_BASIS, 4: SPDFG_BASIS}


@pytest.mark.parametrize("code", sorted(CONVENTIONS))
def test_round_trip_is_exact_on_stacks(code, rng):
    basis = BASIS_FOR_MAX_L[MAX_L[code]]
    numbers = [6, 1, 1, 6] if basis is not SPD_BASIS else [8, 1, 1]
    n = basis.total_orbitals(numbers)
    stack = rng.standard_normal((2, 3, n, n))
    canonical = matrix_to_canonical(stack, numbers, basis, code)
    assert canonical.shape == stack.shape
    np.testing.assert_array_equal(matrix_from_canonical(canonical, numbers, basis, code), stack)
    round_trip = matrix_to_canonical(matrix_from_canonical(stack, numbers, basis, code), numbers, basis, code)
    np.testing.assert_array_equal(round_trip, stack)
    # Stacked conversion equals the per-matrix conversion.
    np.testing.assert_array_equal(canonical[1, 2], matrix_to_canonical(stack[1, 2], numbers, basis, code))


def test_missing_degree_raises_a_clear_error():
    with pytest.raises(ValueError, match="convention 'openmx' has no table for l=4"):
        matrix_to_canonical(np.eye(25), [6], OrbitalBasis.from_shells({6: [0, 1, 2, 3, 4]}), "openmx")
    with pytest.raises(ValueError, match="convention 'aims' has no table for l=3"):
        get_convention("aims").shell_order(3)
    with pytest.raises(ValueError, match="unknown orbital convention"):
        get_convention("gaussian98")


def test_size_mismatch_raises():
    with pytest.raises(ValueError, match="does not match"):
        matrix_to_canonical(np.eye(4), [8], SPD_BASIS, "pyscf")


def test_shell_order_validates():
    with pytest.raises(ValueError):
        ShellOrder(1, (0, 0, 1), (1, 1, 1))
    with pytest.raises(ValueError):
        ShellOrder(1, (0, 1, 2), (1, 2, 1))


def _pyscf_labels(mol) -> np.ndarray:
    """Angular label of each AO in PySCF order, e.g. 'px', 'dz^2', 'f-3'."""
    labels = []
    for label in mol.ao_labels(fmt=False):
        shell = label[2]
        labels.append(shell.lstrip("0123456789") + label[3])
    return np.array(labels, dtype=object)


def _to_code_labels(mol, code: str) -> np.ndarray:
    """Re-order PySCF's labels into a code's order via canonical (the vector analogue of
    matrix_from_canonical): code = inverse-gather of canonical."""
    numbers = mol.atom_charges()
    basis = OrbitalBasis.from_pyscf_mol(mol)
    gather_py, _ = orbital_gather_and_signs(numbers, basis, "pyscf")
    gather_code, _ = orbital_gather_and_signs(numbers, basis, code)
    canonical = _pyscf_labels(mol)[gather_py]
    return canonical[np.argsort(gather_code)]


def test_orca_table_puts_pyscf_functions_in_orca_order(build_mol, water):
    mol = build_mol(water, "def2-svp")
    orca = list(_to_code_labels(mol, "orca")[:14])  # the oxygen
    assert orca[3:6] == ["pz", "px", "py"]
    assert orca[9:14] == ["dz^2", "dxz", "dyz", "dx2-y2", "dxy"]


def test_openmx_table_puts_pyscf_functions_in_openmx_order(build_mol, water):
    mol = build_mol(water, "cc-pvtz")
    labels = list(_to_code_labels(mol, "openmx")[:30])  # oxygen: 4s 3p 2d 1f
    assert labels[4:7] == ["px", "py", "pz"]
    assert labels[13:18] == ["dz^2", "dx2-y2", "dxy", "dxz", "dyz"]
    assert labels[23:30] == ["f+0", "f+1", "f-1", "f+2", "f-2", "f+3", "f-3"]


def test_orca_matrices_round_trip_through_pyscf(build_mol, formaldehyde):
    """PySCF-computed S and Hcore -> ORCA order (via the tables) -> canonical equals
    PySCF -> canonical, and the ORCA-order S has ORCA's labels on the right rows."""
    mol = build_mol(formaldehyde, "def2-svp")
    basis = OrbitalBasis.from_pyscf_mol(mol)
    numbers = mol.atom_charges()
    for matrix in (mol.intor("int1e_ovlp"), mol.intor("int1e_kin") + mol.intor("int1e_nuc")):
        canonical = matrix_to_canonical(matrix, numbers, basis, "pyscf")
        orca = matrix_from_canonical(canonical, numbers, basis, "orca")
        np.testing.assert_array_equal(matrix_to_canonical(orca, numbers, basis, "orca"), canonical)
        # ORCA's oxygen p shell starts with pz: S(O 2pz, C 2pz) must equal PySCF's.
        o_start = basis.n_orbitals(6)
        c_pz_pyscf, o_pz_pyscf = 3 + 2, o_start + 3 + 2
        c_pz_orca, o_pz_orca = 3, o_start + 3
        assert orca[c_pz_orca, o_pz_orca] == matrix[c_pz_pyscf, o_pz_pyscf]


def test_aims_signs_follow_the_published_table():
    basis = OrbitalBasis.from_shells({8: [0, 1, 2]})
    _, signs = orbital_gather_and_signs([8], basis, "aims")
    np.testing.assert_array_equal(signs, [1, 1, 1, -1, 1, 1, 1, -1, 1])


def test_rows_to_canonical_matches_matrix_conversion(rng):
    numbers = [8, 1]
    n = SPD_BASIS.total_orbitals(numbers)
    vectors = rng.standard_normal((n, 4))
    matrix = vectors @ vectors.T
    for code in ("pyscf", "aims", "orca"):
        rows = rows_to_canonical(vectors, numbers, SPD_BASIS, code)
        np.testing.assert_allclose(rows @ rows.T, matrix_to_canonical(matrix, numbers, SPD_BASIS, code), atol=1e-13)
