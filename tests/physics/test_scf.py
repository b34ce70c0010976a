"""SCF acceleration helper: the converged Fock matrix is the best possible guess."""

from __future__ import annotations

import numpy as np
from pyscf import dft, scf

from hamkit.physics.scf import density_from_hamiltonian, scf_cycles_from_guess


def test_converged_fock_needs_no_more_cycles_than_minao(build_mol, water):
    mol = build_mol(water, "sto-3g")
    reference = scf.RHF(mol).run(conv_tol=1e-10)
    fock = reference.get_fock()
    result = scf_cycles_from_guess(mol, fock)
    assert result.converged_guess and result.converged_minao
    assert result.cycles_guess <= result.cycles_minao
    assert result.cycles_guess <= 3 < result.cycles_minao
    assert abs(result.energy_guess - reference.e_tot) < 1e-8
    assert 0 < result.ratio <= 1

    # A poor guess (the core Hamiltonian) needs more cycles than the converged Fock.
    poor = scf_cycles_from_guess(mol, mol.intor("int1e_kin") + mol.intor("int1e_nuc"))
    assert poor.cycles_guess > result.cycles_guess


def test_density_reproduces_pyscf(build_mol, water):
    mol = build_mol(water, "sto-3g")
    reference = scf.RHF(mol).run(conv_tol=1e-10)
    density = density_from_hamiltonian(reference.get_fock(), mol.intor("int1e_ovlp"), 5)
    np.testing.assert_allclose(density, reference.make_rdm1(), atol=1e-7)


def test_kohn_sham_path(build_mol, water):
    mol = build_mol(water, "sto-3g")
    reference = dft.RKS(mol, xc="b3lyp5").run(conv_tol=1e-10)
    result = scf_cycles_from_guess(mol, reference.get_fock(), xc="b3lyp5")
    assert result.converged_guess and result.cycles_guess < result.cycles_minao
    assert abs(result.energy_guess - reference.e_tot) < 1e-7
