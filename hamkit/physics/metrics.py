"""QH9-style accuracy metrics of predicted Hamiltonians (molecules, closed shell).

Units: every energy-type metric in micro-Hartree (1e-6 Ha) for inputs in Hartree;
``psi_cos`` in percent. Each single-structure function returns one number; the structure
average is taken by :func:`evaluate_hamiltonians` (per structure first, then the mean over
structures, as QH9 does).

Definitions (one structure, ``n_occ = (sum Z - charge) / 2``):

* ``h_mae``: mean |H_pred - H_true| over all n*n elements.
* ``h_mae_diag`` / ``h_mae_offdiag``: the same over the elements of on-site (i == j) /
  off-site (i != j) atom-pair blocks (``nan`` for a single atom, skipped in the mean).
* Orbitals come from ``H C = S C eps`` with the TRUE overlap S for both H's
  (:func:`hamkit.physics.eigen.solve_generalized_eigen`).
* ``eps_occ_mae``: mean |eps_pred - eps_true| over the occupied orbitals.
* ``psi_cos``: 100 * mean over occupied orbitals k of |cos(C_pred[:, k], C_true[:, k])|
  (plain Euclidean cosine in the AO basis, sign removed; as QH9). Degenerate orbitals make
  it basis-dependent, as in QH9.
* ``homo_mae``, ``lumo_mae``, ``gap_mae``: absolute errors of eps[n_occ-1], eps[n_occ] and
  of their difference (LUMO needs more orbitals than n_occ, else ``nan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.blocks import onsite_mask
from hamkit.physics.eigen import DEFAULT_OVERLAP_THRESHOLD, occupied_count, solve_generalized_eigen

MICRO_HARTREE = 1e6
"""Multiply Hartree by this to get micro-Hartree."""

METRIC_KEYS: tuple[str, ...] = (
    "h_mae",
    "h_mae_diag",
    "h_mae_offdiag",
    "eps_occ_mae",
    "psi_cos",
    "homo_mae",
    "lumo_mae",
    "gap_mae",
)


def h_mae(h_pred: np.ndarray, h_true: np.ndarray) -> float:
    """Mean absolute element error of one structure, micro-Hartree."""
    return float(np.mean(np.abs(np.asarray(h_pred) - np.asarray(h_true)))) * MICRO_HARTREE


def h_mae_diag(
    h_pred: np.ndarray, h_true: np.ndarray, numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis
) -> float:
    """Mean absolute error over on-site block elements, micro-Hartree."""
    mask = onsite_mask(numbers, basis)
    return float(np.mean(np.abs(np.asarray(h_pred) - np.asarray(h_true))[mask])) * MICRO_HARTREE


def h_mae_offdiag(
    h_pred: np.ndarray, h_true: np.ndarray, numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis
) -> float:
    """Mean absolute error over off-site block elements, micro-Hartree (``nan`` if none)."""
    mask = ~onsite_mask(numbers, basis)
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(np.asarray(h_pred) - np.asarray(h_true))[mask])) * MICRO_HARTREE


@dataclass(frozen=True)
class OrbitalComparison:
    """Orbital metrics of one structure (see module docstring for definitions and units)."""

    eps_occ_mae: float
    psi_cos: float
    homo_mae: float
    lumo_mae: float
    gap_mae: float


def compare_orbitals(
    h_pred: np.ndarray,
    h_true: np.ndarray,
    overlap: np.ndarray,
    n_occupied: int,
    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
) -> OrbitalComparison:
    """Orbital-energy and coefficient metrics of one structure, both solved with the true S."""
    eps_pred, c_pred = solve_generalized_eigen(h_pred, overlap, threshold)
    eps_true, c_true = solve_generalized_eigen(h_true, overlap, threshold)
    if n_occupied < 1 or n_occupied > eps_true.size:
        raise ValueError(f"{n_occupied} occupied orbitals but only {eps_true.size} orbitals")
    occ = slice(0, n_occupied)
    cosines = np.sum(c_pred[:, occ] * c_true[:, occ], axis=0) / (
        np.linalg.norm(c_pred[:, occ], axis=0) * np.linalg.norm(c_true[:, occ], axis=0)
    )
    homo = abs(eps_pred[n_occupied - 1] - eps_true[n_occupied - 1])
    if n_occupied < eps_true.size:
        lumo = abs(eps_pred[n_occupied] - eps_true[n_occupied])
        gap_pred = eps_pred[n_occupied] - eps_pred[n_occupied - 1]
        gap_true = eps_true[n_occupied] - eps_true[n_occupied - 1]
        gap = abs(gap_pred - gap_true)
    else:
        lumo = gap = float("nan")
    return OrbitalComparison(
        eps_occ_mae=float(np.mean(np.abs(eps_pred[occ] - eps_true[occ]))) * MICRO_HARTREE,
        psi_cos=float(np.mean(np.abs(cosines))) * 100.0,
        homo_mae=float(homo) * MICRO_HARTREE,
        lumo_mae=float(lumo) * MICRO_HARTREE,
        gap_mae=float(gap) * MICRO_HARTREE,
    )


def structure_metrics(
    h_pred: np.ndarray,
    h_true: np.ndarray,
    overlap: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    charge: int = 0,
    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
) -> dict[str, float]:
    """All metrics of one structure as ``{key: value}`` with keys :data:`METRIC_KEYS`."""
    orbitals = compare_orbitals(h_pred, h_true, overlap, occupied_count(numbers, charge), threshold)
    return {
        "h_mae": h_mae(h_pred, h_true),
        "h_mae_diag": h_mae_diag(h_pred, h_true, numbers, basis),
        "h_mae_offdiag": h_mae_offdiag(h_pred, h_true, numbers, basis),
        "eps_occ_mae": orbitals.eps_occ_mae,
        "psi_cos": orbitals.psi_cos,
        "homo_mae": orbitals.homo_mae,
        "lumo_mae": orbitals.lumo_mae,
        "gap_mae": orbitals.gap_mae,
    }


def evaluate_hamiltonians(
    samples: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[int] | np.ndarray, OrbitalBasis]],
    charge: int = 0,
    threshold: float = DEFAULT_OVERLAP_THRESHOLD,
) -> dict[str, dict[str, float | list[float]]]:
    """Metrics of many structures.

    Args:
        samples: ``(H_pred, H_true, S, numbers, basis)`` per structure; matrices (n, n) in
            one common orbital order (canonical or a code's: the metrics do not depend on
            it), Hartree.
        charge: Total charge of every structure.
        threshold: Overlap threshold of the eigensolver.

    Returns:
        Exactly the keys :data:`METRIC_KEYS`, each ``{"mean": float, "per_structure":
        [float, ...]}`` (JSON-safe). The mean skips ``nan`` entries (``nan`` if all are).
    """
    return summarize_metrics([structure_metrics(*sample, charge=charge, threshold=threshold) for sample in samples])


def summarize_metrics(rows: Sequence[dict[str, float]]) -> dict[str, dict[str, float | list[float]]]:
    """Per-structure metric rows to ``{key: {"mean", "per_structure"}}`` over :data:`METRIC_KEYS`.

    The mean skips ``nan`` entries (``nan`` if all are).
    """
    summary: dict[str, dict[str, float | list[float]]] = {}
    for key in METRIC_KEYS:
        values = [row[key] for row in rows]
        finite = [v for v in values if not np.isnan(v)]
        summary[key] = {"mean": float(np.mean(finite)) if finite else float("nan"), "per_structure": values}
    return summary
