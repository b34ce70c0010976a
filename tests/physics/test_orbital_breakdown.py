"""Per-orbital, core and valence orbital-energy errors."""

from __future__ import annotations

import numpy as np
import pytest
from pyscf import gto, scf

from hamkit.physics.orbital_breakdown import core_orbital_count, occupied_energy_errors, structure_core_count


def test_core_counts_follow_the_previous_noble_gas():
    assert [core_orbital_count(z) for z in (1, 2, 3, 6, 8, 10, 11, 17, 18, 19, 36, 37)] == [
        0, 0, 1, 1, 1, 1, 5, 5, 5, 9, 9, 18]
    assert structure_core_count([8, 1, 1]) == 1 and structure_core_count([6, 6, 8, 1]) == 3
    with pytest.raises(ValueError, match="atomic number 0"):
        core_orbital_count(0)


@pytest.fixture(scope="module")
def water_fock():
    mol = gto.M(atom="O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", basis="sto-3g", verbose=0)
    mf = scf.RHF(mol).run()
    return mf.get_fock(), mol.intor("int1e_ovlp")


def test_a_shift_by_the_overlap_moves_every_level_equally(water_fock):
    fock, overlap = water_fock
    shift = 1e-3  # H + c S has the eigenvalues eps + c and the same orbitals
    errors = occupied_energy_errors(fock + shift * overlap, fock, overlap, [8, 1, 1], 5)
    assert errors.n_core == 1 and errors.per_orbital.shape == (5,)
    assert np.allclose(errors.per_orbital, shift * 1e6, rtol=1e-8)
    assert errors.core_mae == pytest.approx(1000.0) and errors.valence_mae == pytest.approx(1000.0)


def test_core_and_valence_errors_are_told_apart(water_fock):
    fock, overlap = water_fock
    exact = occupied_energy_errors(fock, fock, overlap, [8, 1, 1], 5)
    assert np.allclose(exact.per_orbital, 0.0, atol=1e-6)
    # Perturb only the hydrogen 1s diagonal: the O 1s level barely moves, the valence levels do.
    perturbed = fock.copy()
    perturbed[5, 5] += 1e-2
    perturbed[6, 6] += 1e-2
    errors = occupied_energy_errors(perturbed, fock, overlap, [8, 1, 1], 5)
    assert errors.valence_mae > 100 * errors.core_mae > 0


def test_more_core_than_occupied_orbitals_is_refused(water_fock):
    fock, overlap = water_fock
    with pytest.raises(ValueError, match="core orbitals"):
        occupied_energy_errors(fock, fock, overlap, [8, 8, 8], 2)
