"""Accuracy metrics of predicted periodic Hamiltonians H(R) (closed shell).

The same keys as the molecular metrics (:data:`hamkit.physics.metrics.METRIC_KEYS`, micro-
Hartree, ``psi_cos`` in %), defined for crystals:

* ``h_mae`` / ``h_mae_diag`` / ``h_mae_offdiag``: mean absolute error over the elements of
  the blocks the model predicts (every (i, j, R) within its cutoff); ``diag`` = on-site
  blocks (i, i, R = 0), ``offdiag`` = all other blocks (hoppings and self-images).
* Band metrics on a Gamma-centred k-mesh: H(k) from the predicted blocks, the reference
  from the record's complete H(R), both solved with the record's S(k); ``n_occ`` bands are
  occupied at every k (``n_occ = n_electrons / 2``).
  ``eps_occ_mae``: mean |e_pred - e_true| over occupied bands and k-points;
  ``homo_mae`` / ``lumo_mae``: errors of the valence-band maximum and conduction-band
  minimum over the mesh; ``gap_mae``: of their difference; ``psi_cos``: 100 * mean over
  k and occupied bands of |<c_pred, c_true>| / (|c_pred| |c_true|).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hamkit.physics.bands import mesh_for
from hamkit.physics.bloch import bloch_matrices, monkhorst_pack
from hamkit.physics.eigen import solve_generalized_eigen
from hamkit.physics.metrics import MICRO_HARTREE

PERIODIC_OVERLAP_THRESHOLD = 5e-4
"""S(k) eigenvalues below this are projected out (DeepH's choice, METHOD.md section 7)."""

POINTS_PER_PERIODIC_AXIS = 4
"""Default k-mesh: this many points along each periodic direction, one along the others."""


def default_mesh(pbc: Sequence[bool]) -> tuple[int, int, int]:
    """Gamma-centred mesh of the band metrics: 4 points per periodic direction."""
    return mesh_for(tuple(bool(flag) for flag in pbc), POINTS_PER_PERIODIC_AXIS)  # type: ignore[arg-type]


def block_errors(pred: np.ndarray, true: np.ndarray, onsite: np.ndarray) -> dict[str, float]:
    """``h_mae``, ``h_mae_diag``, ``h_mae_offdiag`` (micro-Hartree) of packed blocks.

    Args:
        pred: (n_elements,) predicted packed blocks.
        true: (n_elements,) reference, same layout.
        onsite: (n_elements,) bool, True for elements of on-site blocks.
    """
    error = np.abs(np.asarray(pred) - np.asarray(true))
    off = ~np.asarray(onsite, dtype=bool)
    return {
        "h_mae": float(error.mean()) * MICRO_HARTREE,
        "h_mae_diag": float(error[~off].mean()) * MICRO_HARTREE if (~off).any() else float("nan"),
        "h_mae_offdiag": float(error[off].mean()) * MICRO_HARTREE if off.any() else float("nan"),
    }


def band_errors_on_mesh(
    predicted: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
    overlap: tuple[np.ndarray, np.ndarray],
    n_occupied: int,
    mesh: tuple[int, int, int],
    threshold: float = PERIODIC_OVERLAP_THRESHOLD,
) -> dict[str, float]:
    """Band metrics (module docstring) of one structure.

    Args:
        predicted: ``(translations (n_R, 3), H(R) (n_R, n, n))`` of the prediction.
        reference: The same for the reference H.
        overlap: The same for S.
        n_occupied: Occupied bands per k-point.
        mesh: Gamma-centred k-mesh.
        threshold: Overlap eigenvalues at or below it are projected out.

    Returns:
        ``eps_occ_mae``, ``psi_cos``, ``homo_mae``, ``lumo_mae``, ``gap_mae``.

    Raises:
        ValueError: ``n_occupied`` outside the number of bands at some k-point.
    """
    kpoints = monkhorst_pack(mesh)
    h_pred, h_true, s_k = (bloch_matrices(t, m, kpoints) for t, m in (predicted, reference, overlap))
    occ_errors, cosines, valence, conduction = [], [], [], []
    for k in range(len(kpoints)):
        e_pred, c_pred = solve_generalized_eigen(h_pred[k], s_k[k], threshold)
        e_true, c_true = solve_generalized_eigen(h_true[k], s_k[k], threshold)
        if not 1 <= n_occupied <= e_true.size:
            raise ValueError(f"{n_occupied} occupied bands but {e_true.size} bands at k = {kpoints[k].tolist()}")
        occ = slice(0, n_occupied)
        occ_errors.append(np.abs(e_pred[occ] - e_true[occ]))
        overlap_of = np.abs(np.sum(c_pred[:, occ].conj() * c_true[:, occ], axis=0))
        cosines.append(overlap_of / (np.linalg.norm(c_pred[:, occ], axis=0) * np.linalg.norm(c_true[:, occ], axis=0)))
        valence.append((e_pred[n_occupied - 1], e_true[n_occupied - 1]))
        if n_occupied < e_true.size:
            conduction.append((e_pred[n_occupied], e_true[n_occupied]))
    vbm_pred, vbm_true = np.max(valence, axis=0)
    result = {
        "eps_occ_mae": float(np.mean(np.concatenate(occ_errors))) * MICRO_HARTREE,
        "psi_cos": float(np.mean(np.concatenate(cosines))) * 100.0,
        "homo_mae": abs(float(vbm_pred - vbm_true)) * MICRO_HARTREE,
        "lumo_mae": float("nan"),
        "gap_mae": float("nan"),
    }
    if conduction:
        cbm_pred, cbm_true = np.min(conduction, axis=0)
        result["lumo_mae"] = abs(float(cbm_pred - cbm_true)) * MICRO_HARTREE
        result["gap_mae"] = abs(float((cbm_pred - vbm_pred) - (cbm_true - vbm_true))) * MICRO_HARTREE
    return result
