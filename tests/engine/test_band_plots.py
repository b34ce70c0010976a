"""Band-structure PNG: written atomically, no line across a path break, sensible y-range."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

from hamkit.engine import band_plots
from hamkit.engine.band_plots import plot_bands, plotted_half_range
from hamkit.physics.bands import EV_PER_HARTREE
from hamkit.safe_output import DiskFullError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _bands() -> tuple[np.ndarray, np.ndarray]:
    x = np.array([0.0, 0.5, 1.0, 1.0, 1.5, 2.0])  # a break between the 3rd and 4th point
    bands = np.stack([np.linspace(-1, 0, 6), np.linspace(1, 2, 6)], axis=1) / EV_PER_HARTREE
    return x, bands


def test_png_is_written_and_lines_stop_at_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, bands = _bands()
    drawn: list[np.ndarray] = []
    pyplot = band_plots._pyplot()
    original_plot = pyplot.Axes.plot

    def record(axis, xs, *args, **kwargs):
        drawn.append(np.asarray(xs))
        return original_plot(axis, xs, *args, **kwargs)

    monkeypatch.setattr(pyplot.Axes, "plot", record)
    out = plot_bands(x, np.array([0.0, 1.0, 2.0]), ["Γ", "X|Y", "Γ"], bands, bands + 0.001, 0.0,
                     tmp_path / "sub" / "bands.png", "test", 2.0)
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in out.parent.iterdir()] == ["bands.png"]  # no temporary file left
    assert [list(xs) for xs in drawn] == [[0.0, 0.5, 1.0], [1.0, 1.5, 2.0]] * 2  # reference, predicted


def test_prediction_only_with_nan_padding(tmp_path: Path) -> None:
    x, bands = _bands()
    bands[2, 1] = np.nan
    out = plot_bands(x, np.array([0.0, 2.0]), ["Γ", "X"], None, bands, 0.0, tmp_path / "p.png", "t", np.inf)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_failed_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, bands = _bands()

    def broken_savefig(figure, path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(band_plots._pyplot().Figure, "savefig", broken_savefig)
    with pytest.raises(DiskFullError, match="no space left"):
        plot_bands(x, np.array([0.0, 2.0]), ["Γ", "X"], None, bands, 0.0, tmp_path / "p.png", "t", 2.0)
    assert list(tmp_path.iterdir()) == []


def test_plotted_range() -> None:
    assert plotted_half_range(0.5) == 3.0
    assert plotted_half_range(4.0) == 5.0
    assert plotted_half_range(np.inf) == 3.0
