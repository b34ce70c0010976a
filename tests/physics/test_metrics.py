"""QH9 metrics: zero for identical inputs, known values for known perturbations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hamkit.data import OrbitalBasis
from hamkit.physics.metrics import METRIC_KEYS, evaluate_hamiltonians, h_mae, structure_metrics
from hamkit.physics.orbital_order import matrix_to_canonical


@pytest.fixture
def samples(build_mol, water, formaldehyde):
    """(H_true, S, numbers, basis) of two molecules: Hcore as the 'Hamiltonian', canonical order."""
    result = []
    for atoms in (water, formaldehyde):
        mol = build_mol(atoms, "def2-svp")
        basis = OrbitalBasis.from_pyscf_mol(mol)
        numbers = mol.atom_charges()
        h = matrix_to_canonical(mol.intor("int1e_kin") + mol.intor("int1e_nuc"), numbers, basis, "pyscf")
        s = matrix_to_canonical(mol.intor("int1e_ovlp"), numbers, basis, "pyscf")
        result.append((h, s, numbers, basis))
    return result


def test_identical_inputs_give_zero_errors(samples):
    summary = evaluate_hamiltonians([(h, h, s, z, b) for h, s, z, b in samples])
    assert tuple(summary) == METRIC_KEYS
    for key in METRIC_KEYS:
        assert len(summary[key]["per_structure"]) == 2
        expected = 100.0 if key == "psi_cos" else 0.0
        assert summary[key]["mean"] == pytest.approx(expected, abs=1e-6)
    json.dumps(summary)


def test_constant_element_offset(samples):
    offset = 3e-5  # Hartree
    h, s, numbers, basis = samples[1]
    metrics = structure_metrics(h + offset, h, s, numbers, basis)
    for key in ("h_mae", "h_mae_diag", "h_mae_offdiag"):
        assert metrics[key] == pytest.approx(30.0)  # micro-Hartree


def test_offset_proportional_to_overlap_shifts_every_orbital(samples):
    """H + c S has the same orbitals and every energy shifted by c."""
    shift = 2e-4
    summary = evaluate_hamiltonians([(h + shift * s, h, s, z, b) for h, s, z, b in samples])
    for key in ("eps_occ_mae", "homo_mae", "lumo_mae"):
        np.testing.assert_allclose(summary[key]["per_structure"], 200.0, rtol=1e-6)
    assert summary["gap_mae"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert summary["psi_cos"]["mean"] == pytest.approx(100.0, abs=1e-6)
    h, s, _, _ = samples[0]
    assert summary["h_mae"]["per_structure"][0] == pytest.approx(h_mae(h + shift * s, h))


def test_psi_cos_detects_wrong_orbitals(samples, rng):
    h, s, numbers, basis = samples[0]
    noise = rng.standard_normal(h.shape) * 0.05
    metrics = structure_metrics(h + noise + noise.T, h, s, numbers, basis)
    assert metrics["psi_cos"] < 99.9
    assert metrics["eps_occ_mae"] > 100.0


def test_diag_and_offdiag_split(samples):
    h, s, numbers, basis = samples[0]  # water: O 14 + H 5 + H 5 orbitals
    perturbed = h.copy()
    perturbed[0, 0] += 1e-3  # on-site element
    metrics = structure_metrics(perturbed, h, s, numbers, basis)
    n_onsite = 14 * 14 + 2 * 25
    assert metrics["h_mae_diag"] == pytest.approx(1e3 / n_onsite)
    assert metrics["h_mae_offdiag"] == 0.0
    assert metrics["h_mae"] == pytest.approx(1e3 / 24**2)
