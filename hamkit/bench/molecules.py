"""Molecules of growing size for scaling benchmarks: linear alkanes or water clusters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hamkit.data.structure import Structure
from hamkit.errors import HamkitError

DEFAULT_SIZES = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class SizedMolecule:
    """A benchmark molecule: ``size`` repeat units (carbons of an alkane, or waters)."""

    name: str
    size: int
    structure: Structure


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def alkane(carbons: int) -> Structure:
    """Linear alkane C_nH_(2n+2), all-trans zigzag, C-C 1.54 A, C-H 1.09 A, tetrahedral angles."""
    if carbons < 1:
        raise ValueError("an alkane needs at least one carbon")
    if carbons == 1:
        directions = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float) / math.sqrt(3)
        return Structure(np.array([6, 1, 1, 1, 1]), np.vstack([np.zeros(3), 1.09 * directions]))
    half = math.radians(109.47 / 2)
    step, rise = 1.54 * math.sin(half), 1.54 * math.cos(half)
    carbon = np.array([[i * step, rise / 2 * (1 if i % 2 else -1), 0.0] for i in range(carbons)])
    hydrogens = []
    for i, position in enumerate(carbon):
        outward = np.array([0.0, -1.0 if i % 2 == 0 else 1.0, 0.0])  # away from both neighbours
        pair = [_unit(math.cos(half) * outward + math.sin(half) * np.array([0.0, 0.0, sign]))
                for sign in (1.0, -1.0)]
        hydrogens += [position + 1.09 * direction for direction in pair]
        if i in (0, carbons - 1):  # a methyl end: the fourth tetrahedral direction
            neighbour = carbon[1] if i == 0 else carbon[-2]
            bonds = [_unit(neighbour - position), *pair]
            hydrogens.append(position + 1.09 * _unit(-sum(bonds, np.zeros(3))))
    numbers = np.array([6] * carbons + [1] * len(hydrogens))
    return Structure(numbers, np.vstack([carbon, np.array(hydrogens)]))


def water_cluster(waters: int, spacing: float = 3.0) -> Structure:
    """``waters`` water molecules on a cubic grid ``spacing`` A apart (O-H 0.9572 A, 104.52 deg)."""
    if waters < 1:
        raise ValueError("a water cluster needs at least one water")
    side = math.ceil(round(waters ** (1 / 3), 9))
    half = math.radians(104.52 / 2)
    local = np.array([[0.0, 0.0, 0.0], [0.9572 * math.sin(half), 0.9572 * math.cos(half), 0.0],
                      [-0.9572 * math.sin(half), 0.9572 * math.cos(half), 0.0]])
    sites = [(i, j, k) for k in range(side) for j in range(side) for i in range(side)][:waters]
    positions = np.vstack([local + spacing * np.array(site, dtype=float) for site in sites])
    return Structure(np.array([8, 1, 1] * waters), positions)


def size_series(elements: Sequence[int], sizes: Sequence[int] = DEFAULT_SIZES) -> list[SizedMolecule]:
    """Molecules of the given sizes made of elements the basis covers.

    Alkanes (``size`` carbons) when H and C are covered, else water clusters (``size``
    waters) when H and O are.

    Raises:
        HamkitError: The elements cover neither, or a size below 1.
    """
    covered = set(int(z) for z in elements)
    if any(int(size) < 1 for size in sizes):
        raise HamkitError(f"benchmark sizes must be positive integers, got {list(sizes)}")
    if {1, 6} <= covered:
        return [SizedMolecule(f"C{n}H{2 * n + 2}", int(n), alkane(int(n))) for n in sizes]
    if {1, 8} <= covered:
        return [SizedMolecule(f"(H2O){n}", int(n), water_cluster(int(n))) for n in sizes]
    raise HamkitError(f"the model's basis covers Z={sorted(covered)}; benchmark molecules need H with C "
                      "(alkanes) or H with O (water clusters)")
