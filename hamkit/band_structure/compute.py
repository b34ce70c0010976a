"""Reference and predicted bands along a k-path, the Fermi level and band errors near it.

The Fermi level is the record's ``fermi_level`` when it has one, else the filling level
(:func:`hamkit.physics.bands.fermi_level_from_electrons`) of the reference (or, without
one, predicted) bands on a Monkhorst-Pack mesh (:data:`FERMI_MESH_POINTS`) plus the path,
with the record's ``n_electrons`` or PySCF's valence electron count. Errors compare bands
by index at the path's k-points, where the reference lies within the window of the Fermi
level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hamkit.band_structure.targets import BandTarget
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.engine.band_plots import plotted_half_range
from hamkit.engine.inference import predict_real_space
from hamkit.errors import HamkitError
from hamkit.physics.bands import (
    DEFAULT_OVERLAP_THRESHOLD,
    LATTICE_TOLERANCE,
    BandErrors,
    BandPath,
    band_errors_near_fermi,
    band_path,
    fermi_level_from_electrons,
    mesh_for,
    solve_bands,
)
from hamkit.physics.bloch import bloch_matrices, monkhorst_pack

FERMI_MESH_POINTS = {1: 24, 2: 12, 3: 6}
"""Monkhorst-Pack points per periodic direction for the Fermi level, by number of periodic
directions (multiples of 3 and 2: hexagonal K and M points lie on the mesh)."""

CellSettings = Callable[[], tuple[str, str | None]]
"""Returns ``(basis_name, pseudo)`` of the PySCF cell; called only when PySCF is needed."""


@dataclass(frozen=True)
class BandSettings:
    """How to compute the bands.

    Attributes:
        path: Special points such as ``"G-M-K-G"``; None: ASE's path for the lattice.
        npoints: k-points on the path.
        window: Band errors within this many eV of the Fermi level.
        lattice_tolerance: Relative tolerance recognising the Bravais lattice.
        threshold: Project out eigenvectors of S(k) below this.
    """

    path: str | None = None
    npoints: int = 120
    window: float = 2.0
    lattice_tolerance: float = LATTICE_TOLERANCE
    threshold: float = DEFAULT_OVERLAP_THRESHOLD


@dataclass(frozen=True)
class BandResult:
    """Bands along the path (Hartree) and what was measured.

    Attributes:
        path: The k-path.
        reference: (n_k, n_bands) reference bands on the path, or None.
        predicted: (n_k, n_bands) predicted bands on the path.
        fermi_level: Hartree.
        fermi_source: How the Fermi level was found (for the report).
        errors: ``{"window": ..., "plotted": ...}`` band errors, empty without a reference.
    """

    path: BandPath
    reference: np.ndarray | None
    predicted: np.ndarray
    fermi_level: float
    fermi_source: str
    errors: dict[str, BandErrors]


# ---------------------------------------------------------------------------- PySCF
def pyscf_overlaps(structure: Structure, trained: Any, cell_settings: CellSettings,
                   kpoints: np.ndarray) -> np.ndarray:
    """S(k) (n_k, n, n) from PySCF in the run's basis (canonical order).

    Raises:
        HamkitError: Unknown basis or pseudopotential, or a basis PySCF disagrees with.
    """
    from hamkit.labelling.pbc_cell import overlap_kpoints

    basis_name, pseudo = cell_settings()
    try:
        return overlap_kpoints(structure, trained.basis, basis_name, pseudo, kpoints)
    except (ValueError, KeyError, RuntimeError) as error:
        raise HamkitError(f"PySCF overlap in basis '{basis_name}' (pseudo {pseudo}): {error}") from None


def pyscf_electrons(structure: Structure, cell_settings: CellSettings) -> int:
    """Electrons per cell PySCF counts (valence electrons with a pseudopotential).

    Raises:
        HamkitError: Unknown basis or pseudopotential, or a cell PySCF refuses (odd count).
    """
    from hamkit.labelling.pbc_cell import build_cell

    basis_name, pseudo = cell_settings()
    try:
        return int(build_cell(structure, basis_name, pseudo).nelectron)
    except (ValueError, KeyError, RuntimeError) as error:
        raise HamkitError(f"PySCF cell in basis '{basis_name}' (pseudo {pseudo}): {error}") from None


# ---------------------------------------------------------------------------- bands
def compute_bands(trained: Any, target: BandTarget, settings: BandSettings,
                  cell_settings: CellSettings) -> BandResult:
    """Reference and predicted bands on the path, the Fermi level and band errors.

    Args:
        trained: The trained model (``check_elements``, ``basis``; predicts H(R)).
        target: The structure, and its record when it has one.
        settings: Path, window and thresholds.
        cell_settings: The PySCF cell's basis and pseudopotential, for a target without S(R).

    Raises:
        HamkitError: Unknown elements or special points, a basis mismatch, or a failed
            eigenproblem or Fermi level.
    """
    structure = target.structure
    trained.check_elements(structure.numbers, target.name)
    path = band_path(structure.require_cell(), structure.pbc, settings.path, settings.npoints,
                     settings.lattice_tolerance)
    record = target.record
    predicted_h = predict_real_space(trained, structure, target.name)
    operators = None if record is None else _record_operators(record)
    reference_h = None if operators is None else (operators[0], operators[1])

    def overlaps(kpoints: np.ndarray) -> np.ndarray:
        """S(k) (n_k, n, n): the record's S(R) summed, else PySCF's."""
        if operators is not None:
            return bloch_matrices(operators[0], operators[2], kpoints)
        return pyscf_overlaps(structure, trained, cell_settings, kpoints)

    path_overlaps = overlaps(path.kpoints)
    if predicted_h[1].shape[1:] != path_overlaps.shape[1:]:
        raise HamkitError(f"predicted H(R) has {predicted_h[1].shape[1]} orbitals, S(k) {path_overlaps.shape[1]}: "
                          "the model's basis and the overlap's basis differ")
    predicted = _solve(predicted_h, path.kpoints, path_overlaps, settings.threshold)
    reference = None if reference_h is None else _solve(reference_h, path.kpoints, path_overlaps, settings.threshold)

    def filling_bands() -> np.ndarray:
        kpoints = np.concatenate([path.kpoints, monkhorst_pack(fermi_mesh(structure.pbc))])
        hamiltonian = reference_h if reference_h is not None else predicted_h
        return _solve(hamiltonian, kpoints, overlaps(kpoints), settings.threshold)

    fermi_level, source = fermi_level_of(record, filling_bands, lambda: pyscf_electrons(structure, cell_settings))
    errors = {} if reference is None else {
        "window": band_errors_near_fermi(predicted, reference, fermi_level, settings.window),
        "plotted": band_errors_near_fermi(predicted, reference, fermi_level, plotted_half_range(settings.window)),
    }
    return BandResult(path, reference, predicted, fermi_level, source, errors)


def _record_operators(record: HamiltonianRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(translations, H(R), S(R))`` of a band target's record.

    Raises:
        HamkitError: The record has no lattice translations or no S(R) (band targets refuse both).
    """
    if record.translations is None or record.overlap is None:
        raise HamkitError(f"record '{record.key}' has no lattice translations or no overlap S(R): "
                          "reference bands need both")
    return record.translations, record.hamiltonian, record.overlap


def fermi_mesh(pbc: tuple[bool, bool, bool]) -> tuple[int, int, int]:
    """Monkhorst-Pack mesh of the Fermi level: :data:`FERMI_MESH_POINTS` by periodic dimension."""
    return mesh_for(pbc, FERMI_MESH_POINTS[sum(pbc)])


def _solve(real_space: tuple[np.ndarray, np.ndarray], kpoints: np.ndarray, overlaps: np.ndarray,
           threshold: float) -> np.ndarray:
    """Bands (n_k, n_bands) of ``(translations, H(R))`` with the given S(k), Hartree."""
    try:
        return solve_bands(bloch_matrices(*real_space, kpoints), overlaps, threshold)
    except ValueError as error:
        raise HamkitError(f"bands: {error} (lower --threshold)") from None


def fermi_level_of(record: HamiltonianRecord | None, filling_bands: Callable[[], np.ndarray],
                   pyscf_count: Callable[[], int]) -> tuple[float, str]:
    """The record's Fermi level, else the filling level of ``filling_bands()`` (path + mesh).

    The electron count is the record's ``n_electrons``, else ``pyscf_count()``.

    Returns:
        ``(level in Hartree, how it was found)``.

    Raises:
        HamkitError: The bands cannot hold the electrons.
    """
    extras = record.extras if record is not None else {}
    if extras.get("fermi_level") is not None:
        return float(extras["fermi_level"]), "the record's fermi_level"
    electrons = extras.get("n_electrons")
    if electrons is None:
        electrons = pyscf_count()
    try:
        level = fermi_level_from_electrons(filling_bands(), float(electrons))
    except ValueError as error:
        raise HamkitError(f"Fermi level: {error}") from None
    which = "reference" if record is not None else "predicted"
    return level, f"{float(electrons):g} electrons filling the {which} bands (mesh + path)"
