"""PNG plots written into the run directory at the end of training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hamkit.engine.run_layout import RunLayout
from hamkit.safe_output import atomic_file

VALENCE_FLOOR = -3.0
"""Orbital energies (Ha) above this are shown in the valence panel."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _json_row(line: str) -> dict | None:
    """A metrics row, or None for a blank or torn line."""
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row if isinstance(row, dict) else None


def save_png(figure, out: Path, dpi: int = 120) -> None:
    """``figure.savefig`` as PNG under a temporary name, renamed onto ``out`` when complete."""
    with atomic_file(out) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")


def plot_learning_curves(run_dir: Path) -> Path | None:
    """``plots/learning_curves.png`` from ``metrics.jsonl``: training loss and validation H MAE."""
    layout = RunLayout(run_dir)
    path = layout.metrics
    if not path.exists():
        return None
    rows = [row for row in map(_json_row, path.read_text().splitlines()) if row is not None]
    train = [r for r in rows if r.get("kind") == "train" and "loss" in r]
    val = [r for r in rows if r.get("kind") == "val" and "val_h_mae" in r]
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].semilogy([r["step"] for r in train], [r["loss"] for r in train])
    axes[0].set(xlabel="step", ylabel="training loss", title="training loss")
    if val:
        axes[1].semilogy([r["step"] for r in val], [r["val_h_mae"] for r in val], marker="o")
    axes[1].set(xlabel="step", ylabel="H MAE (µHa)", title="validation H MAE")
    figure.tight_layout()
    out = layout.learning_curves_plot
    save_png(figure, out)
    plt.close(figure)
    return out


def plot_orbital_energies(run_dir: Path, predicted: list[np.ndarray], reference: list[np.ndarray]) -> Path:
    """``plots/orbital_energies.png``: predicted against reference orbital energies (Hartree)."""
    plt = _pyplot()
    x = np.concatenate(reference) if reference else np.zeros(0)
    y = np.concatenate(predicted) if predicted else np.zeros(0)
    figure, axes = plt.subplots(1, 2, figsize=(10, 5))
    valence = x > VALENCE_FLOOR
    for axis, keep, title in ((axes[0], np.ones_like(x, dtype=bool), "all orbitals"),
                              (axes[1], valence, f"above {VALENCE_FLOOR:g} Ha (valence)")):
        axis.scatter(x[keep], y[keep], s=8, alpha=0.6)
        if keep.any():
            low = float(min(x[keep].min(), y[keep].min()))
            high = float(max(x[keep].max(), y[keep].max()))
            axis.plot([low, high], [low, high], color="gray", linewidth=1)
        axis.set(xlabel="reference orbital energy (Ha)", ylabel="predicted orbital energy (Ha)",
                 title=f"test structures: {title}")
    figure.tight_layout()
    out = RunLayout(run_dir).orbital_energies_plot
    save_png(figure, out)
    plt.close(figure)
    return out
