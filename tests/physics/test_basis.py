"""OrbitalBasis: construction from PySCF, names and tables; queries; serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hamkit.data import OrbitalBasis


def test_def2_svp_shells_match_the_documented_counts():
    basis = OrbitalBasis.from_name("def2-svp", ["H", 6, "O"])
    assert basis.elements == (1, 6, 8)
    assert basis.shell_ls(1) == (0, 0, 1)
    assert basis.shell_ls(8) == (0, 0, 0, 1, 1, 2)
    assert basis.n_orbitals(1) == 5 and basis.n_orbitals(6) == 14
    assert basis.name == "def2-svp"


def test_from_name_handles_odd_electron_elements_and_f_g_shells():
    basis = OrbitalBasis.from_name("cc-pvqz", [1, 7])  # H and N: odd electron counts
    assert max(basis.shell_ls(7)) == 4 and basis.max_l == 4
    # PySCF lists cc-pVQZ N with general contractions: each contraction is one shell.
    assert basis.n_orbitals(7) == 55


def test_from_pyscf_mol_agrees_with_ao_count(build_mol, water):
    mol = build_mol(water, "cc-pvtz")
    basis = OrbitalBasis.from_pyscf_mol(mol)
    offsets = basis.atom_orbital_offsets(mol.atom_charges())
    np.testing.assert_array_equal(offsets, [0, 30, 44, 58])
    np.testing.assert_array_equal(offsets[:-1], mol.aoslice_by_atom()[:, 2])
    assert basis == OrbitalBasis.from_name("cc-pvtz", [8, 1])


def test_shell_slices_tile_the_atom():
    basis = OrbitalBasis.from_shells({"O": [0, 1, 2, 3]})
    slices = basis.shell_slices(8)
    assert [(s.start, s.stop) for s in slices] == [(0, 1), (1, 4), (4, 9), (9, 16)]
    assert basis.orbital_shell_ls([8, 8]) == [0, 1, 2, 3, 0, 1, 2, 3]


def test_dict_round_trip_is_json_safe():
    basis = OrbitalBasis.from_name("def2-svp", [1, 8])
    text = json.dumps(basis.to_dict())
    restored = OrbitalBasis.from_dict(json.loads(text))
    assert restored == basis and hash(restored) == hash(basis)


def test_errors_are_clear():
    basis = OrbitalBasis.from_shells({1: [0]})
    with pytest.raises(ValueError, match="Z=8 is not in basis"):
        basis.n_orbitals(8)
    with pytest.raises(ValueError, match="no basis"):
        OrbitalBasis.from_name("no-such-basis-xyz", [1])
    with pytest.raises(ValueError, match="element listed twice"):
        OrbitalBasis(((1, (0,)), (1, (0, 1))))


def test_cartesian_basis_is_refused(build_mol, water):
    with pytest.raises(ValueError, match="Cartesian"):
        OrbitalBasis.from_pyscf_mol(build_mol(water, "def2-svp", cart=True))
