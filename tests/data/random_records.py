"""Random water-like records, store headers and overlaps for the data tests."""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreHeader
from hamkit.data.structure import HamiltonianRecord, Structure

WATER_BASIS = OrbitalBasis.from_shells({1: [0, 0, 1], 8: [0, 0, 0, 1, 1, 2]}, "def2-svp")


def random_record(rng: np.random.Generator, key: str, **extras) -> HamiltonianRecord:
    """A water-shaped record with random symmetric H and S, float64."""
    n = WATER_BASIS.total_orbitals([8, 1, 1])
    h = rng.normal(size=(n, n))
    s = normalized_overlap(rng, n)
    return HamiltonianRecord(Structure([8, 1, 1], rng.normal(size=(3, 3)), charge=0),
                             h + h.T, s, key, {"energy": float(rng.normal()), **extras})


def header(**provenance) -> StoreHeader:
    """Header with the water basis."""
    return StoreHeader(WATER_BASIS, {"code": "test", **provenance})


def normalized_overlap(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random Gram matrix of n normalized functions, shape (n, n): S_ii = 1, |S_ij| < 1."""
    vectors = rng.normal(size=(n, n + 4))
    gram = vectors @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(gram))
    return gram * scale[:, None] * scale[None, :]
