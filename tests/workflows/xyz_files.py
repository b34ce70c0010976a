"""Multi-frame XYZ files, written for the workflow tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_xyz(path: Path, frames: list[tuple[np.ndarray, np.ndarray]]) -> Path:
    """An xyz file with full-precision coordinates (ASE's writer rounds to 8 decimals)."""
    from pyscf.data.elements import ELEMENTS

    lines = []
    for numbers, positions in frames:
        lines += [str(len(numbers)), "frame"]
        lines += [f"{ELEMENTS[int(z)]} " + " ".join(repr(float(x)) for x in xyz)
                  for z, xyz in zip(numbers, positions)]
    path.write_text("\n".join(lines) + "\n")
    return path
