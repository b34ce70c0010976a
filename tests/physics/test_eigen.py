"""Generalized eigensolver against scipy, near-singular overlaps, occupied counts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from hamkit.physics.eigen import occupied_count, solve_generalized_eigen, solve_generalized_eigen_torch


def _water_hcore_and_overlap(build_mol, water, basis="def2-svp"):
    mol = build_mol(water, basis)
    return mol.intor("int1e_kin") + mol.intor("int1e_nuc"), mol.intor("int1e_ovlp")


def test_matches_scipy_on_a_well_conditioned_case(build_mol, water):
    h, s = _water_hcore_and_overlap(build_mol, water)
    energies, coefficients = solve_generalized_eigen(h, s)
    reference_energies, reference_coefficients = scipy.linalg.eigh(h, s)
    assert energies.shape == (24,)
    np.testing.assert_allclose(energies, reference_energies, atol=1e-10)
    overlap_of_vectors = np.abs(np.sum(coefficients * (s @ reference_coefficients), axis=0))
    np.testing.assert_allclose(overlap_of_vectors, 1, atol=1e-8)
    np.testing.assert_allclose(coefficients.T @ s @ coefficients, np.eye(24), atol=1e-10)
    np.testing.assert_allclose(h @ coefficients, s @ coefficients * energies, atol=1e-9)


def test_torch_matches_numpy(build_mol, water):
    h, s = _water_hcore_and_overlap(build_mol, water)
    energies, coefficients = solve_generalized_eigen(h, s)
    energies_t, coefficients_t = solve_generalized_eigen_torch(torch.from_numpy(h), torch.from_numpy(s))
    np.testing.assert_allclose(energies_t.numpy(), energies, atol=1e-10)
    np.testing.assert_allclose(np.abs(coefficients_t.numpy()), np.abs(coefficients), atol=1e-7)


def test_near_singular_overlap_from_a_duplicated_function(build_mol, water):
    h, s = _water_hcore_and_overlap(build_mol, water)
    duplicate = [*range(24), 5]  # orbital 5 appears twice: S becomes exactly singular
    h2, s2 = h[np.ix_(duplicate, duplicate)], s[np.ix_(duplicate, duplicate)]
    s2 = s2 + 1e-13 * np.eye(25)  # numerically near-singular, not exactly
    energies, coefficients = solve_generalized_eigen(h2, s2)
    assert energies.shape == (24,) and coefficients.shape == (25, 24)  # one direction dropped
    np.testing.assert_allclose(energies, scipy.linalg.eigh(h, s, eigvals_only=True), atol=1e-7)
    np.testing.assert_allclose(coefficients.T @ s2 @ coefficients, np.eye(24), atol=1e-8)
    # Control: without projection, scipy's solver fails or returns a spurious state.
    try:
        unprojected = scipy.linalg.eigh(h2, s2, eigvals_only=True)
    except np.linalg.LinAlgError:
        return
    distance_to_true_spectrum = np.abs(unprojected[:, None] - energies[None, :]).min(axis=1)
    assert distance_to_true_spectrum.max() > 1e-3


def test_occupied_count():
    assert occupied_count([8, 1, 1]) == 5
    assert occupied_count([8, 1, 1], charge=2) == 4
    with pytest.raises(ValueError, match="odd electron count 9"):
        occupied_count([8, 1])
