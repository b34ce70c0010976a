"""Band-structure plot: reference and predicted bands along a k-path (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hamkit.engine.plots import _pyplot, save_png
from hamkit.physics.bands import EV_PER_HARTREE

MARGIN_EV = 1.0
"""The plot shows the error window plus this much on each side (eV) ..."""
MIN_HALF_RANGE_EV = 3.0
"""... and at least this much on each side of the Fermi level (eV)."""

REFERENCE_STYLE = {"color": "black", "linestyle": "-", "linewidth": 1.2}
PREDICTED_STYLE = {"color": "tab:red", "linestyle": "--", "linewidth": 1.2}


def plot_bands(
    path_x: np.ndarray,
    special_x: np.ndarray,
    labels: list[str],
    reference: np.ndarray | None,
    predicted: np.ndarray,
    fermi_level: float,
    out_png: Path,
    title: str,
    window_ev: float,
) -> Path:
    """Draw bands relative to the Fermi level and write ``out_png`` atomically.

    Args:
        path_x: Path coordinate (n_k,), 1/Angstrom; a repeated value marks a path break.
        special_x: Tick positions of the special points (n_ticks,), 1/Angstrom.
        labels: Tick labels (n_ticks,).
        reference: Reference bands (n_k, n_bands), Hartree, black solid lines; None to
            draw only the prediction.
        predicted: Predicted bands (n_k, n_bands'), Hartree, coloured dashed lines.
            NaN values (bands projected out at some k) leave gaps.
        fermi_level: Hartree; the plot's zero.
        out_png: Output file; written to a temporary file in the same folder and renamed.
        title: Figure title.
        window_ev: Half-width of the band-error window (eV), marked by dotted lines; the
            y-range is :func:`plotted_half_range`.

    Returns:
        ``out_png``.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.0, 5.0))
    pieces = _unbroken_pieces(np.asarray(path_x))
    for bands, style, name in ((reference, REFERENCE_STYLE, "reference"), (predicted, PREDICTED_STYLE, "predicted")):
        if bands is None:
            continue
        relative = (np.asarray(bands, dtype=np.float64) - fermi_level) * EV_PER_HARTREE
        for index, piece in enumerate(pieces):
            axis.plot(path_x[piece], relative[piece], **style, label=name if index == 0 else None)
    _decorate(axis, np.asarray(path_x), special_x, labels, window_ev)
    axis.set_title(title)
    handles, names = axis.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    axis.legend(unique.values(), unique.keys(), loc="upper right", fontsize="small")
    figure.tight_layout()
    save_png(figure, Path(out_png))
    plt.close(figure)
    return Path(out_png)


def plotted_half_range(window_ev: float) -> float:
    """Half-height of the plot around E_F (eV): ``max(window_ev + 1, 3)``, 3 for an infinite window."""
    return max(window_ev + MARGIN_EV, MIN_HALF_RANGE_EV) if np.isfinite(window_ev) else MIN_HALF_RANGE_EV


def _unbroken_pieces(path_x: np.ndarray) -> list[slice]:
    """Slices of ``path_x`` between path breaks (where x repeats), so no line jumps a break."""
    starts = [0, *(np.flatnonzero(np.diff(path_x) == 0) + 1).tolist(), len(path_x)]
    return [slice(start, stop) for start, stop in zip(starts[:-1], starts[1:]) if stop > start]


def _decorate(axis, path_x: np.ndarray, special_x: np.ndarray, labels: list[str], window_ev: float) -> None:
    """Special-point lines and ticks, the Fermi level, the error window and the y-range."""
    for position in special_x:
        axis.axvline(position, color="gray", linewidth=0.6)
    axis.axhline(0.0, color="gray", linewidth=0.8, linestyle=":")
    if np.isfinite(window_ev):
        for edge in (-window_ev, window_ev):
            axis.axhline(edge, color="tab:blue", linewidth=0.6, linestyle=":")
    half_range = plotted_half_range(window_ev)
    axis.set_xticks(list(special_x), labels)
    axis.set_xlim(float(path_x[0]), float(path_x[-1]))
    axis.set_ylim(-half_range, half_range)
    axis.set_ylabel(r"$E - E_\mathrm{F}$ (eV)")
