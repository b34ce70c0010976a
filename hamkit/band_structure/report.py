"""The summary and the full data of ``bands.json`` (energies in eV, errors in meV)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hamkit.band_structure.compute import BandResult
from hamkit.band_structure.targets import BandTarget
from hamkit.engine.band_plots import plotted_half_range
from hamkit.physics.bands import EV_PER_HARTREE


def summary(result: BandResult, target: BandTarget, window_ev: float) -> dict[str, Any]:
    """The JSON summary (errors in meV, energies in eV)."""
    errors = {name: {"mae_mev": e.mae_mev, "max_mev": e.max_mev, "values": e.count,
                     "window_ev": window_ev if name == "window" else plotted_half_range(window_ev)}
              for name, e in result.errors.items()}
    return {"structure": target.name, "path": result.path.path, "labels": result.path.labels,
            "kpoints": len(result.path.kpoints), "bands": band_count(result.predicted),
            "fermi_level_ev": result.fermi_level * EV_PER_HARTREE, "fermi_level_source": result.fermi_source,
            "errors": errors}


def band_count(bands: np.ndarray) -> int:
    """Bands with a value at some k-point (NaN padding excluded)."""
    return int(np.isfinite(bands).any(axis=0).sum())


def band_data(result: BandResult, target: BandTarget, window_ev: float) -> dict[str, Any]:
    """Everything of ``bands.json``: summary plus the path and energies (eV)."""

    def in_ev(bands: np.ndarray | None) -> list | None:
        return None if bands is None else (bands * EV_PER_HARTREE).tolist()

    return {**summary(result, target, window_ev), "units": {"energy": "eV", "x": "1/Angstrom",
                                                         "kpoints": "reduced", "errors": "meV"},
            "kpoint_coordinates": result.path.kpoints.tolist(), "x": result.path.x.tolist(),
            "special_x": result.path.special_x.tolist(),
            "reference_ev": in_ev(result.reference), "predicted_ev": in_ev(result.predicted)}
