"""Band paths, projected generalized eigenproblem, Fermi level and band errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError
from hamkit.physics.bands import (
    EV_PER_HARTREE,
    band_errors_near_fermi,
    band_path,
    fermi_level_from_electrons,
    solve_bands,
)
from hamkit.physics.bloch import bloch_matrices, monkhorst_pack
from hamkit.testing.tight_binding import GRAPHENE_A, graphene, graphene_bands, nearest_neighbour_record

ONSITE, HOPPING, OVERLAP = 0.4, -2.7, 0.1
"""Graphene model: eV, eV, dimensionless."""


def _bloch(record: HamiltonianRecord, kpoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (bloch_matrices(record.translations, record.hamiltonian, kpoints),
            bloch_matrices(record.translations, record.overlap, kpoints))


@pytest.mark.parametrize("obtuse", [True, False], ids=["120deg", "60deg"])
def test_graphene_bands_match_the_analytic_formula(obtuse: bool) -> None:
    structure = graphene(obtuse=obtuse)
    record = nearest_neighbour_record(structure, ONSITE, HOPPING, OVERLAP)
    path = band_path(structure.cell, structure.pbc, None, 90)
    bands = solve_bands(*_bloch(record, path.kpoints))
    assert path.path == "GMKG"  # the 2D hexagonal default, not the 3D one
    assert bands.shape == (len(path.kpoints), 2)
    np.testing.assert_allclose(bands, graphene_bands(path.kpoints, structure, ONSITE, HOPPING, OVERLAP),
                               atol=1e-13)
    # ASE's K, mapped to this cell's reduced coordinates, is the Dirac point.
    at_k = bands[np.argmin(np.abs(path.x - path.special_x[path.labels.index("K")]))]
    np.testing.assert_allclose(at_k, ONSITE / EV_PER_HARTREE, atol=1e-13)
    # At Gamma |f| = 3: the closed forms.
    expected_gamma = sorted([(ONSITE + 3 * HOPPING) / (1 + 3 * OVERLAP), (ONSITE - 3 * HOPPING) / (1 - 3 * OVERLAP)])
    np.testing.assert_allclose(bands[0] * EV_PER_HARTREE, expected_gamma, atol=1e-12)


def _with_almost_duplicate_orbital(record: HamiltonianRecord, perturbation: float) -> HamiltonianRecord:
    """Add orbital C = A + perturbation * X: X an extra orthonormal orbital (on-site 5 eV, no hopping).

    The three functions span the same space as {A, B, X}, but S(k) has an eigenvalue
    ~perturbation^2: a near-linear dependency.
    """
    n_r = len(record.translations)
    home = int(np.flatnonzero(~record.translations.any(axis=1))[0])
    hamiltonian = np.zeros((n_r, 3, 3))
    overlap = np.zeros((n_r, 3, 3))
    hamiltonian[:, :2, :2] = record.hamiltonian
    overlap[:, :2, :2] = record.overlap
    hamiltonian[home, 2, 2] = 5.0 / EV_PER_HARTREE
    overlap[home, 2, 2] = 1.0
    change = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, perturbation]])
    transform = lambda matrices: np.einsum("ab,rbc,dc->rad", change, matrices, change)  # noqa: E731
    return HamiltonianRecord(record.structure, transform(hamiltonian), transform(overlap),
                             translations=record.translations)


def test_projection_removes_an_almost_duplicate_orbital() -> None:
    structure = graphene()
    record = _with_almost_duplicate_orbital(nearest_neighbour_record(structure, ONSITE, HOPPING, OVERLAP), 1e-9)
    path = band_path(structure.cell, structure.pbc, "GMKG", 60)
    h_k, s_k = _bloch(record, path.kpoints)
    assert np.linalg.eigvalsh(s_k).min(axis=1).max() < 1e-12  # near-singular at every k
    expected = graphene_bands(path.kpoints, structure, ONSITE, HOPPING, OVERLAP)

    bands = solve_bands(h_k, s_k)

    assert bands.shape == (len(path.kpoints), 2)  # the dependent direction is dropped
    np.testing.assert_allclose(bands, expected, atol=1e-8)
    # The plain generalized eigensolver refuses S(k) or returns garbage.
    try:
        plain = np.array([scipy.linalg.eigh(h, s, eigvals_only=True) for h, s in zip(h_k, s_k)])
    except np.linalg.LinAlgError:
        return
    assert np.abs(plain[:, :2] - expected).max() > 1e-3


def test_k_dependent_projection_pads_with_nan() -> None:
    # 1 - 3s = 1e-4 < 5e-4: at Gamma (only there) the antibonding S(k) eigenvalue is dropped.
    overlap = (1 - 1e-4) / 3
    structure = graphene()
    record = nearest_neighbour_record(structure, ONSITE, HOPPING, overlap)
    path = band_path(structure.cell, structure.pbc, "GMKG", 60)
    bands = solve_bands(*_bloch(record, path.kpoints))
    expected = graphene_bands(path.kpoints, structure, ONSITE, HOPPING, overlap)
    gamma = np.all(np.abs(path.kpoints) < 1e-12, axis=1)
    assert gamma.sum() == 2  # start and end of the path
    assert np.isnan(bands[gamma, 1]).all()
    np.testing.assert_allclose(bands[gamma, 0], expected[gamma, 0], atol=1e-13)
    np.testing.assert_allclose(bands[~gamma], expected[~gamma], rtol=1e-9)


def test_solve_bands_single_k_and_shape_errors() -> None:
    h = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=complex)
    np.testing.assert_allclose(solve_bands(h, np.eye(2)), [[-1.0, 1.0]])
    with pytest.raises(ValueError, match="must both be"):
        solve_bands(np.zeros((3, 2, 2)), np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="every overlap eigenvalue"):
        solve_bands(h, 1e-6 * np.eye(2))


def test_fermi_level_of_graphene_is_the_dirac_point() -> None:
    structure = graphene()
    record = nearest_neighbour_record(structure, ONSITE, HOPPING, OVERLAP)
    mesh = monkhorst_pack((12, 12, 1))  # a multiple of 3: K = (1/3, 1/3, 0) is on it
    bands = solve_bands(*_bloch(record, mesh))
    assert fermi_level_from_electrons(bands, 2) == pytest.approx(ONSITE / EV_PER_HARTREE, abs=1e-13)
    # Without K on the mesh the two closest values straddle the Dirac point.
    off_mesh = solve_bands(*_bloch(record, monkhorst_pack((10, 10, 1))))
    assert fermi_level_from_electrons(off_mesh, 2) == pytest.approx(ONSITE / EV_PER_HARTREE, abs=0.05)


def test_fermi_level_of_an_insulator_is_mid_gap() -> None:
    valence = np.array([[-3.0], [-2.0], [-2.5]])
    conduction = np.array([[1.0], [0.5], [2.0]])
    core = np.full((3, 1), -10.0)
    bands = np.concatenate([core, valence, conduction, np.full((3, 1), np.nan)], axis=1)
    assert fermi_level_from_electrons(bands, 4) == pytest.approx((-2.0 + 0.5) / 2)
    with pytest.raises(ValueError, match="whole number"):
        fermi_level_from_electrons(bands, 3)  # 4.5 doubly occupied states
    with pytest.raises(ValueError, match="no unoccupied"):
        fermi_level_from_electrons(bands, 6)


def test_band_errors_of_a_rigid_shift_are_the_shift_in_mev() -> None:
    rng = np.random.default_rng(0)
    reference = np.sort(rng.uniform(-5.0, 5.0, size=(40, 8)), axis=1) / EV_PER_HARTREE
    shift_ev = 0.0375
    errors = band_errors_near_fermi(reference + shift_ev / EV_PER_HARTREE, reference, 0.0, window_ev=2.0)
    assert errors.mae_mev == pytest.approx(37.5, abs=1e-9)
    assert errors.max_mev == pytest.approx(37.5, abs=1e-9)
    assert errors.count == int((np.abs(reference * EV_PER_HARTREE) <= 2.0).sum())
    assert 0 < errors.count < reference.size
    everything = band_errors_near_fermi(reference - shift_ev / EV_PER_HARTREE, reference, 0.0, np.inf)
    assert everything.count == reference.size and everything.mae_mev == pytest.approx(37.5, abs=1e-9)


def test_band_errors_skip_nan_and_report_an_empty_window() -> None:
    reference = np.array([[0.0, np.nan], [0.01, 1.0]])
    predicted = np.array([[0.001, 0.0], [np.nan, 1.0]])
    errors = band_errors_near_fermi(predicted, reference, 0.0, window_ev=1.0)
    assert errors.count == 1
    assert errors.mae_mev == pytest.approx(0.001 * EV_PER_HARTREE * 1000)
    empty = band_errors_near_fermi(predicted, reference, 10.0, window_ev=1.0)
    assert empty.count == 0 and np.isnan(empty.mae_mev)
    with pytest.raises(ValueError, match="differ in shape"):
        band_errors_near_fermi(predicted[:, :1], reference, 0.0)


@pytest.mark.parametrize("text", ["G-M-K-G", "GMKG", "Γ-M-K-Γ", " G-M-K-G "])
def test_path_spellings_give_the_same_points(text: str) -> None:
    structure = graphene()
    path = band_path(structure.cell, structure.pbc, text, 60)
    reference = band_path(structure.cell, structure.pbc, None, 60)
    np.testing.assert_allclose(path.kpoints, reference.kpoints)
    assert path.labels == ["Γ", "M", "K", "Γ"]
    gamma_to_m = 2 * np.pi / (np.sqrt(3) * GRAPHENE_A)
    np.testing.assert_allclose(path.special_x[:2], [0.0, gamma_to_m])
    assert path.x[0] == 0.0 and path.x[-1] == pytest.approx(path.special_x[-1])
    assert np.all(np.diff(path.x) >= 0)


def test_path_with_a_break() -> None:
    cell = np.diag([3.0, 4.0, 5.0])  # orthorhombic
    path = band_path(cell, (True, True, True), "GX,YG", 40)
    assert path.labels == ["Γ", "X|Y", "Γ"]
    break_index = int(np.flatnonzero(np.diff(path.x) == 0)[0])
    np.testing.assert_allclose(path.kpoints[break_index], [0.5, 0.0, 0.0])
    np.testing.assert_allclose(path.kpoints[break_index + 1], [0.0, 0.5, 0.0])
    np.testing.assert_allclose(path.special_x, [0.0, np.pi / 3, np.pi / 3 + np.pi / 4])


def test_a_break_between_equal_points_shows_one_label() -> None:
    structure = graphene()
    path = band_path(structure.cell, structure.pbc, "GMKG,GM", 80)
    assert path.labels == ["Γ", "M", "K", "Γ", "M"]


def test_one_dimensional_chain_path() -> None:
    path = band_path(np.diag([2.0, 15.0, 15.0]), (True, False, False), None, 21)
    assert path.labels == ["Γ", "X"]
    np.testing.assert_allclose(path.kpoints[-1], [0.5, 0.0, 0.0])
    assert path.x[-1] == pytest.approx(np.pi / 2.0)


def test_unknown_label_lists_the_lattice_labels() -> None:
    structure = graphene()
    with pytest.raises(HamkitError, match=r"unknown special point 'X'.*G \(Γ\), K, M"):
        band_path(structure.cell, structure.pbc, "G-X-K", 60)
    with pytest.raises(HamkitError, match="single point"):
        band_path(structure.cell, structure.pbc, "GM,K", 60)
    with pytest.raises(HamkitError, match="too few"):
        band_path(structure.cell, structure.pbc, "GMKG", 5)
    with pytest.raises(HamkitError, match="periodic"):
        band_path(np.eye(3), (False, False, False), None, 60)


def test_a_strained_hexagonal_cell_keeps_m_and_k() -> None:
    """The training cells are strained by ~1%: the default tolerance still finds M and K;
    ASE's own 2e-4 reads the cell as oblique and has no K (negative control)."""
    cell = graphene().cell @ np.array([[1.01, 0.005, 0.0], [0.005, 0.995, 0.0], [0.0, 0.0, 1.0]])
    path = band_path(cell, (True, True, False), "G-M-K-G", 60)
    assert path.labels == ["Γ", "M", "K", "Γ"]
    with pytest.raises(HamkitError, match="unknown special point 'M'|unknown special point 'K'"):
        band_path(cell, (True, True, False), "G-M-K-G", 60, tolerance=2e-4)
