"""Built-in periodic presets: distorted primitive cells of 2D materials with vacuum.

Each preset is a hexagonal primitive cell (lattice vectors a1 = a (1, 0, 0),
a2 = a (-1/2, sqrt(3)/2, 0), a3 = (0, 0, c)) with the layer centred along a3 and
``VACUUM_ANGSTROM`` of vacuum between the outermost atoms of neighbouring images;
``pbc = (True, True, False)``. Every structure gets, reproducibly from ``(seed, index)``:

* a random symmetric in-plane strain, each component ~ N(0, ``STRAIN_SIGMA``) clipped to
  +-3 sigma, applied to a1 and a2 (a3 unchanged);
* random Cartesian atomic displacements ~ N(0, ``DISPLACEMENT_SIGMA``) Angstrom per
  component, clipped to +-3 sigma.

Presets (lattice constants: experimental, rounded):

* ``graphene``: C2, a = 2.46 A.
* ``hbn``: hexagonal BN, a = 2.50 A.
* ``mos2``: 1H-MoS2 (trigonal prismatic), a = 3.16 A, S-S height 3.17 A. GTH-SZV has
  no Mo, so its preset basis is ``gth-szv-molopt-sr`` (Mo: 4s4p4d5s semicore, q14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hamkit.data.structure import Structure
from hamkit.labelling.jobs import Job, geometry_job

VACUUM_ANGSTROM = 15.0
DISPLACEMENT_SIGMA = 0.05
STRAIN_SIGMA = 0.01
CLIP_SIGMAS = 3.0


@dataclass(frozen=True)
class Material:
    """An ideal hexagonal 2D layer.

    Attributes:
        name: Preset name.
        lattice: In-plane lattice constant a, Angstrom.
        numbers: Atomic numbers, (n_atoms,).
        fractional: In-plane reduced coordinates (along a1, a2) per atom, (n_atoms, 2).
        heights: Out-of-plane offset of each atom from the layer centre, Angstrom.
        basis: Default PySCF basis of the preset (covers its elements).
    """

    name: str
    lattice: float
    numbers: tuple[int, ...]
    fractional: tuple[tuple[float, float], ...]
    heights: tuple[float, ...]
    basis: str = "gth-szv"

    @property
    def thickness(self) -> float:
        """Distance between the outermost atomic planes, Angstrom."""
        return max(self.heights) - min(self.heights)


MATERIALS: dict[str, Material] = {
    "graphene": Material("graphene", 2.46, (6, 6), ((1 / 3, 2 / 3), (2 / 3, 1 / 3)), (0.0, 0.0)),
    "hbn": Material("hbn", 2.50, (5, 7), ((1 / 3, 2 / 3), (2 / 3, 1 / 3)), (0.0, 0.0)),
    "mos2": Material("mos2", 3.16, (42, 16, 16), ((1 / 3, 2 / 3), (2 / 3, 1 / 3), (2 / 3, 1 / 3)),
                     (0.0, 1.585, -1.585), basis="gth-szv-molopt-sr"),
}
"""The periodic presets by name."""


def hexagonal_cell(lattice: float, height: float) -> np.ndarray:
    """Lattice vectors as rows (3, 3), Angstrom: a1, a2 at 120 degrees in the xy plane, a3 = (0, 0, height)."""
    return np.array([[lattice, 0.0, 0.0],
                     [-0.5 * lattice, 0.5 * math.sqrt(3.0) * lattice, 0.0],
                     [0.0, 0.0, height]])


def _clipped_normal(rng: np.random.Generator, sigma: float, size: int | tuple[int, ...]) -> np.ndarray:
    return np.clip(rng.normal(0.0, sigma, size=size), -CLIP_SIGMAS * sigma, CLIP_SIGMAS * sigma)


def material_geometry(name: str, seed: int, index: int, *, vacuum: float = VACUUM_ANGSTROM,
                      displacement: float = DISPLACEMENT_SIGMA, strain: float = STRAIN_SIGMA) -> Structure:
    """One distorted primitive cell of a preset material, reproducible from ``(seed, index)``.

    Args:
        name: Key of :data:`MATERIALS`.
        seed: Run seed.
        index: Structure number.
        vacuum: Vacuum between the layer and its image along a3, Angstrom.
        displacement: Standard deviation of the atomic displacements, Angstrom.
        strain: Standard deviation of each in-plane strain component.

    Returns:
        The structure (``pbc = (True, True, False)``).
    """
    material = MATERIALS[name]
    rng = np.random.default_rng([seed, index])
    height = material.thickness + vacuum
    cell = hexagonal_cell(material.lattice, height)
    exx, eyy, exy = _clipped_normal(rng, strain, 3)
    deformation = np.array([[1.0 + exx, exy, 0.0], [exy, 1.0 + eyy, 0.0], [0.0, 0.0, 1.0]])
    cell = cell @ deformation.T
    fractional = np.array(material.fractional)
    positions = fractional[:, 0:1] * cell[0] + fractional[:, 1:2] * cell[1]
    positions[:, 2] = 0.5 * height + np.array(material.heights)
    positions = positions + _clipped_normal(rng, displacement, positions.shape)
    return Structure(np.array(material.numbers), positions, cell=cell, pbc=(True, True, False))


def periodic_preset_jobs(name: str, count: int, seed: int) -> list[Job]:
    """Jobs of a periodic preset: keys ``<name>_000000`` ...; extras hold the preset name."""
    return [geometry_job(f"{name}_{i:06d}", material_geometry(name, seed, i), {"preset": name})
            for i in range(count)]
