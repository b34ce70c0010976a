"""Band structures of periodic Hamiltonians: k-paths, bands, Fermi level, band errors.

Units: energies in Hartree (like every matrix in hamkit) unless a name says eV or meV;
path coordinates in 1/Angstrom (the 2 pi factor included, like
:func:`hamkit.physics.bloch.reciprocal_cell`); k-points in reduced coordinates of the
reciprocal lattice (:mod:`hamkit.physics.bloch`).

Bands solve ``H(k) c = e S(k) c`` at each k. Like DeepH, eigenvectors of ``S(k)`` with
eigenvalue below a threshold (default 5e-4) are projected out first: they are
near-linear dependencies of the atomic-orbital basis, and keeping them lets tiny errors
of H be amplified into garbage bands. The number of kept bands can therefore differ
between k-points; :func:`solve_bands` pads the missing highest bands with NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from hamkit.errors import HamkitError
from hamkit.physics.eigen import solve_generalized_eigen

EV_PER_HARTREE = 27.211386245988
"""Hartree in eV (CODATA 2018; the value the deeph reader converts with)."""

DEFAULT_OVERLAP_THRESHOLD = 5e-4
"""Eigenvalues of S(k) below this are projected out (DeepH's value)."""

GAMMA = "Γ"
"""How the Brillouin-zone centre (ASE's label ``G``) is shown."""

PATH_BREAKS = (",", "|")
"""Characters that break a path into disconnected segments (ASE uses the comma)."""

_SAME_POSITION = 1e-9
"""Special points closer than this along the path (1/Angstrom) are one tick: a break."""


class BandPath(NamedTuple):
    """k-points along a path through the Brillouin zone.

    Attributes:
        kpoints: Reduced k-points, shape (n_k, 3).
        x: Cumulative path coordinate in 1/Angstrom, shape (n_k,); it does not advance
            across a break (``"GX,YG"``).
        special_x: Positions of the special points on ``x``, shape (n_ticks,).
        labels: One label per tick (``Γ`` for ``G``; ``"X|Y"`` where a break joins
            two different points at the same position, one label for ``"...G,G..."``).
        path: The path in ASE's notation (e.g. ``"GMKG"``), as used.
    """

    kpoints: np.ndarray
    x: np.ndarray
    special_x: np.ndarray
    labels: list[str]
    path: str


@dataclass(frozen=True)
class BandErrors:
    """Errors of predicted against reference bands.

    A dataclass, not a NamedTuple: a tuple's field ``count`` would hide ``tuple.count``.

    Attributes:
        mae_mev: Mean absolute error in meV (NaN when ``count`` is 0).
        max_mev: Largest absolute error in meV (NaN when ``count`` is 0).
        count: Number of (k-point, band) values compared.
    """

    mae_mev: float
    max_mev: float
    count: int


# ---------------------------------------------------------------------------- k-paths
LATTICE_TOLERANCE = 0.1
"""Default tolerance of the Bravais-lattice recognition (ASE's ``eps``), relative.

Training cells are randomly strained by a few percent; with ASE's own 2e-4 a strained
hexagonal cell reads as oblique and loses its M and K points. 0.1 keeps the ideal
lattice's special points (in reduced coordinates of the given cell) for such cells."""


def band_path(
    cell: np.ndarray, pbc: tuple[bool, bool, bool], path: str | None = None, npoints: int = 120,
    tolerance: float = LATTICE_TOLERANCE,
) -> BandPath:
    """k-points along a path of special points of the cell's Bravais lattice (ASE's).

    Args:
        cell: Lattice vectors as rows, shape (3, 3), Angstrom.
        pbc: Periodic directions; (True, True, False) makes ASE use the 2D lattice of
            the first two vectors (the third spans vacuum), (True, False, False) the 1D one.
        path: Special points such as ``"G-M-K-G"``, ``"GMKG"`` or ``"GX,YG"`` (comma or
            ``|`` break the path; ``Γ`` may stand for ``G``); None takes ASE's default
            path for the lattice.
        npoints: Total number of k-points (ASE spreads them by segment length).
        tolerance: Relative tolerance of the lattice recognition (:data:`LATTICE_TOLERANCE`).

    Returns:
        The k-points, path coordinate and special-point ticks.

    Raises:
        HamkitError: No periodic direction, too few points, or a label the lattice lacks
            (the message lists the labels it has).
    """
    from ase.cell import Cell

    periodic = tuple(bool(flag) for flag in pbc)
    if not any(periodic):
        raise HamkitError("a band path needs a periodic structure (pbc has no True entry)")
    lattice_cell = Cell(np.asarray(cell, dtype=np.float64))
    special_points = lattice_cell.bandpath(npoints=0, pbc=periodic, eps=tolerance).special_points
    segments = parse_path(path, special_points) if path is not None else None
    ase_path = ",".join("".join(segment) for segment in segments) if segments is not None else None
    n_special = sum(len(segment) for segment in segments) if segments is not None else None
    if n_special is not None and npoints < 2 * n_special:
        raise HamkitError(f"{npoints} k-points are too few for a path through {n_special} special points; "
                          f"use at least {2 * n_special}")
    bandpath = lattice_cell.bandpath(ase_path, npoints=npoints, pbc=periodic, eps=tolerance)
    x, special_x, labels = bandpath.get_linear_kpoint_axis()
    ticks, tick_labels = _merge_ticks(np.asarray(special_x), list(labels))
    return BandPath(np.asarray(bandpath.kpts, dtype=np.float64), np.asarray(x, dtype=np.float64),
                    ticks, tick_labels, bandpath.path)


def parse_path(path: str, special_points: dict[str, np.ndarray]) -> list[list[str]]:
    """Split a path string into segments of special-point labels and check each label.

    Args:
        path: ``"G-M-K-G"``, ``"GMKG"``, ``"GX,YG"``, ``"Γ-X|Y-Γ"``; labels are an upper-case
            letter followed by lower-case letters or digits (``"X1"``), as in ASE.
        special_points: The lattice's special points, label -> reduced k-point.

    Returns:
        The segments, e.g. ``[["G", "X"], ["Y", "G"]]``.

    Raises:
        HamkitError: Empty path, a segment of one point, or an unknown label.
    """
    from ase.dft.kpoints import parse_path_string

    text = path.replace(GAMMA, "G").replace("-", "").replace(" ", "")
    for separator in PATH_BREAKS[1:]:
        text = text.replace(separator, PATH_BREAKS[0])
    known = _describe_labels(special_points)
    if not text.strip(PATH_BREAKS[0]):
        raise HamkitError(f"empty band path {path!r}; this lattice has the special points {known}")
    segments = parse_path_string(text)
    for segment in segments:
        unknown = [label for label in segment if label not in special_points]
        if unknown:
            raise HamkitError(f"band path {path!r}: unknown special point {unknown[0]!r}; "
                              f"this lattice has {known}")
        if len(segment) < 2:
            raise HamkitError(f"band path {path!r}: the segment {''.join(segment)!r} has a single point; "
                              "a segment needs two or more")
    return segments


def _describe_labels(special_points: dict[str, np.ndarray]) -> str:
    """``"G (Γ), K, M"``: the labels a user may type."""
    return ", ".join(f"G ({GAMMA})" if label == "G" else label for label in sorted(special_points))


def _merge_ticks(special_x: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """One tick per position: labels at the same x (a path break) joined by ``|``."""
    ticks: list[float] = []
    merged: list[str] = []
    for position, label in zip(special_x, labels):
        shown = GAMMA if label == "G" else label
        if ticks and abs(position - ticks[-1]) < _SAME_POSITION:
            if shown != merged[-1].split("|")[-1]:
                merged[-1] = f"{merged[-1]}|{shown}"
        else:
            ticks.append(float(position))
            merged.append(shown)
    return np.asarray(ticks, dtype=np.float64), merged


# ---------------------------------------------------------------------------- bands
def solve_bands(h_k: np.ndarray, s_k: np.ndarray, threshold: float = DEFAULT_OVERLAP_THRESHOLD) -> np.ndarray:
    """Eigenvalues of ``H(k) c = e S(k) c`` at each k, near-dependencies projected out.

    At each k (:func:`hamkit.physics.eigen.solve_generalized_eigen`): ``S = U s U^H``; keep
    the columns of U with ``s > threshold``; ``X = U_kept / sqrt(s_kept)``; the bands are
    the eigenvalues of ``X^H H X`` (H is Hermitized first, so a slightly non-Hermitian
    prediction is fine).

    Args:
        h_k: (n_k, n, n) complex Bloch Hamiltonians (Hartree), or (n, n) for one k.
        s_k: Overlaps of the same shape.
        threshold: Eigenvalues of S(k) ``<= threshold`` are projected out.

    Returns:
        (n_k, n_bands) bands, ascending along each row, Hartree. ``n_bands`` is the
        largest number of kept directions over the k-points (n when nothing is dropped);
        at a k-point that keeps fewer, the missing HIGHEST bands are NaN (dropped
        directions are near-duplicates of the basis, not particular low-lying states,
        so band indices counted from the bottom stay comparable).

    Raises:
        ValueError: Mismatched shapes, or a k-point where every direction is dropped.
    """
    h_k = np.asarray(h_k)
    s_k = np.asarray(s_k)
    if h_k.ndim == 2:
        h_k, s_k = h_k[None], s_k[None]
    if h_k.shape != s_k.shape or h_k.ndim != 3 or h_k.shape[1] != h_k.shape[2]:
        raise ValueError(f"H(k) {h_k.shape} and S(k) {s_k.shape} must both be (n_k, n, n)")
    bands = [solve_generalized_eigen(h, s, threshold)[0] for h, s in zip(h_k, s_k)]
    result = np.full((len(bands), max(len(values) for values in bands)), np.nan)
    for k, values in enumerate(bands):
        result[k, : len(values)] = values
    return result


# ---------------------------------------------------------------------------- Fermi level
def fermi_level_from_electrons(eigenvalues_on_mesh: np.ndarray, n_electrons: float) -> float:
    """Zero-temperature Fermi level of a spin-restricted system (2 electrons per band).

    The ``N = n_electrons * n_k / 2`` lowest values over the whole mesh are occupied; the
    Fermi level is the midpoint between the highest occupied and the lowest unoccupied
    value. For an insulator that is mid-gap (valence-band maximum and conduction-band
    minimum over the mesh). For a semimetal such as graphene the two touch at K: with K
    on the mesh (add the band-path points) the midpoint is the Dirac point itself;
    without it, the midpoint of the two closest values, a little off the true touching
    energy. For a metal it is the filling level on this finite mesh (no smearing).

    Args:
        eigenvalues_on_mesh: (n_k, n_bands) bands (Hartree) on k-points covering the
            Brillouin zone uniformly (a Monkhorst-Pack mesh); NaN padding is ignored.
        n_electrons: Electrons per cell (valence electrons with pseudopotentials).

    Returns:
        The Fermi level (Hartree).

    Raises:
        ValueError: A non-integer number of occupied states, or more electrons than the
            bands hold.
    """
    values = np.asarray(eigenvalues_on_mesh, dtype=np.float64)
    values = np.atleast_2d(values)
    occupied_states = n_electrons * len(values) / 2.0
    count = int(round(occupied_states))
    if abs(occupied_states - count) > 1e-6 or count < 1:
        raise ValueError(f"{n_electrons} electrons on {len(values)} k-points fill {occupied_states:g} "
                         "doubly occupied states; a positive whole number is needed")
    finite = np.sort(values[np.isfinite(values)])
    if count >= len(finite):
        raise ValueError(f"{n_electrons} electrons need more than the {finite.size // len(values)} bands "
                         "per k-point there are (no unoccupied state left)")
    return float(0.5 * (finite[count - 1] + finite[count]))


# ---------------------------------------------------------------------------- errors
def band_errors_near_fermi(
    pred: np.ndarray, ref: np.ndarray, fermi_level: float, window_ev: float = 2.0
) -> BandErrors:
    """Band-by-band errors where the reference lies within ``window_ev`` of the Fermi level.

    Bands are matched by index (ascending order) at the same k-points; no rigid shift is
    removed, so a constant offset of the predicted bands counts fully.

    Args:
        pred: (n_k, n_bands) predicted bands, Hartree.
        ref: (n_k, n_bands) reference bands, Hartree.
        fermi_level: Hartree.
        window_ev: Half-width of the energy window around the Fermi level, eV
            (``inf`` compares every band).

    Returns:
        MAE and max error in meV and the number of values compared (NaN entries skipped).

    Raises:
        ValueError: Shapes differ.
    """
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape:
        raise ValueError(f"predicted bands {pred.shape} and reference bands {ref.shape} differ in shape")
    inside = np.abs(ref - fermi_level) * EV_PER_HARTREE <= window_ev
    used = inside & np.isfinite(pred) & np.isfinite(ref)
    errors_mev = np.abs(pred[used] - ref[used]) * EV_PER_HARTREE * 1000.0
    if errors_mev.size == 0:
        return BandErrors(float("nan"), float("nan"), 0)
    return BandErrors(float(errors_mev.mean()), float(errors_mev.max()), int(errors_mev.size))


def mesh_for(pbc: tuple[bool, bool, bool], points_per_direction: int = 12) -> tuple[int, int, int]:
    """Monkhorst-Pack mesh size: ``points_per_direction`` along periodic directions, 1 elsewhere."""
    return tuple(points_per_direction if flag else 1 for flag in pbc)  # type: ignore[return-value]
