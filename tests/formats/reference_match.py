"""Shared checks of the format-reader tests."""

from __future__ import annotations

import numpy as np

from hamkit.data.structure import HamiltonianRecord
from hamkit.physics.eigen import solve_generalized_eigen

MATRIX_TOLERANCE = 1e-10
ENERGY_TOLERANCE = 1e-8


def assert_matches_reference(record: HamiltonianRecord, reference) -> dict[str, float]:
    """H and S equal the canonical PySCF matrices, orbital energies equal ``mo_energy``.

    Returns:
        The measured maximum errors ``{"H", "S", "eps"}`` (Hartree).
    """
    assert record.overlap is not None
    np.testing.assert_array_equal(record.structure.numbers, reference.numbers)
    errors = {
        "H": float(np.abs(record.hamiltonian - reference.hamiltonian).max()),
        "S": float(np.abs(record.overlap - reference.canonical_overlap).max()),
    }
    energies, _ = solve_generalized_eigen(record.hamiltonian, record.overlap)
    errors["eps"] = float(np.abs(energies - reference.mo_energy).max())
    assert errors["H"] <= MATRIX_TOLERANCE, errors
    assert errors["S"] <= MATRIX_TOLERANCE, errors
    assert errors["eps"] <= ENERGY_TOLERANCE, errors
    return errors
