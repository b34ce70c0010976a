"""Shared small molecules for the physics tests (positions in Angstrom, no symmetry)."""

from __future__ import annotations

import numpy as np
import pytest

# Distorted formaldehyde: no symmetry element maps the molecule onto itself.
FORMALDEHYDE = (
    ("C", (0.02, -0.03, 0.01)),
    ("O", (0.05, 0.04, 1.22)),
    ("H", (0.93, 0.02, -0.56)),
    ("H", (-0.88, -0.11, -0.60)),
)
# Distorted water.
WATER = (
    ("O", (0.0, 0.0, 0.0)),
    ("H", (0.12, 0.76, 0.55)),
    ("H", (-0.05, -0.80, 0.47)),
)


def _build_mol(atoms, basis: str, rotation: np.ndarray | None = None, **kwargs):
    """PySCF molecule of ``atoms`` (optionally rotated about the origin, x -> R x)."""
    from pyscf import gto

    positions = np.array([p for _, p in atoms], dtype=np.float64)
    if rotation is not None:
        positions = positions @ rotation.T
    spec = [(symbol, tuple(p)) for (symbol, _), p in zip(atoms, positions)]
    return gto.M(atom=spec, basis=basis, unit="Angstrom", verbose=0, **kwargs)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def build_mol():
    """Factory ``build_mol(atoms, basis, rotation=None, **mole_kwargs)``."""
    return _build_mol


@pytest.fixture
def formaldehyde():
    return FORMALDEHYDE


@pytest.fixture
def water():
    return WATER
