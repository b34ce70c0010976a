"""Nearest-neighbour tight-binding crystals with known bands, for periodic tests.

One orbital per atom; H(R) and S(R) in hamkit's periodic layout
(:mod:`hamkit.data.structure`), Hartree. Graphene with a non-orthogonal overlap has the
textbook bands ``e(k) = (onsite -/+ t |f(k)|) / (1 -/+ s |f(k)|)`` with
``f(k) = sum_delta exp(i k . delta)`` over the three nearest-neighbour vectors.
"""

from __future__ import annotations

import itertools

import numpy as np

from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.physics.bands import EV_PER_HARTREE
from hamkit.physics.bloch import cartesian_kpoints

GRAPHENE_A = 2.46
"""Graphene lattice constant (Angstrom)."""

_NEIGHBOUR_TOLERANCE = 1e-6


def graphene(a: float = GRAPHENE_A, vacuum: float = 20.0, obtuse: bool = True) -> Structure:
    """Two-atom graphene cell; the third lattice vector spans vacuum (pbc True, True, False).

    Args:
        a: Lattice constant (Angstrom).
        vacuum: Length of the third, non-periodic vector (Angstrom).
        obtuse: 120 degrees between a1 and a2 (else 60 degrees): two settings of one lattice.
    """
    second = (-0.5, np.sqrt(3.0) / 2.0, 0.0) if obtuse else (0.5, np.sqrt(3.0) / 2.0, 0.0)
    cell = np.array([[a, 0.0, 0.0], [a * second[0], a * second[1], 0.0], [0.0, 0.0, vacuum]])
    fractional = np.array([[0.0, 0.0, 0.5], [1 / 3, 2 / 3 if obtuse else 1 / 3, 0.5]])
    return Structure(np.array([6, 6]), fractional @ cell, cell=cell, pbc=(True, True, False))


def nearest_neighbour_record(
    structure: Structure, onsite_ev: float, hopping_ev: float, overlap: float, reach: int = 2
) -> HamiltonianRecord:
    """One orbital per atom, hopping and overlap between nearest neighbours only.

    Args:
        structure: A periodic structure (every atom has the same on-site energy).
        onsite_ev: On-site energy (eV).
        hopping_ev: Nearest-neighbour hopping t (eV).
        overlap: Nearest-neighbour overlap s (dimensionless).
        reach: Translations up to this many cells along each periodic direction are searched.

    Returns:
        Record with translations, H(R) (Hartree) and S(R) (only translations with a
        non-zero matrix), ``extras`` ``{"n_electrons": n_atoms}`` (half filling).
    """
    translations, hamiltonian, overlaps = [], [], []
    distances = {r: _pair_distances(structure, np.array(r)) for r in _translations(structure.pbc, reach)}
    nearest = min(d[d > _NEIGHBOUR_TOLERANCE].min() for d in distances.values())
    for translation, distance in distances.items():
        neighbours = np.abs(distance - nearest) < _NEIGHBOUR_TOLERANCE
        same = distance < _NEIGHBOUR_TOLERANCE
        if neighbours.any() or same.any():
            translations.append(translation)
            hamiltonian.append((onsite_ev * same + hopping_ev * neighbours) / EV_PER_HARTREE)
            overlaps.append(same + overlap * neighbours)
    return HamiltonianRecord(structure, np.array(hamiltonian), np.array(overlaps, dtype=np.float64),
                             key="tight-binding", extras={"n_electrons": structure.n_atoms},
                             translations=np.array(translations))


def _translations(pbc: tuple[bool, bool, bool], reach: int) -> list[tuple[int, ...]]:
    """Integer translations within ``reach`` along periodic directions (0 elsewhere)."""
    ranges = [range(-reach, reach + 1) if flag else range(1) for flag in pbc]
    return list(itertools.product(*ranges))


def _pair_distances(structure: Structure, translation: np.ndarray) -> np.ndarray:
    """(n_atoms, n_atoms) distances from atom i to atom j shifted by ``translation @ cell``."""
    shifted = structure.positions + translation @ structure.cell
    return np.linalg.norm(shifted[None, :, :] - structure.positions[:, None, :], axis=-1)


def graphene_bands(
    kpoints: np.ndarray, structure: Structure, onsite_ev: float, hopping_ev: float, overlap: float
) -> np.ndarray:
    """Analytic bands (n_k, 2) of :func:`nearest_neighbour_record` on a graphene cell, Hartree, ascending."""
    cell = structure.require_cell()
    shifts = np.array(_translations(structure.pbc, 1)) @ cell
    images = structure.positions[1] - structure.positions[0] + shifts
    lengths = np.linalg.norm(images, axis=1)
    deltas = images[np.abs(lengths - lengths.min()) < _NEIGHBOUR_TOLERANCE]
    strength = np.abs(np.exp(1j * cartesian_kpoints(kpoints, cell) @ deltas.T).sum(axis=1))
    bands = np.stack([(onsite_ev + hopping_ev * strength) / (1 + overlap * strength),
                      (onsite_ev - hopping_ev * strength) / (1 - overlap * strength)], axis=1)
    return np.sort(bands, axis=1) / EV_PER_HARTREE
