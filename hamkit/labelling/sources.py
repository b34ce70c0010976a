"""Inputs of label generation: geometries from xyz files, SMILES lists, or built-in presets.

Presets: ``water`` (molecules, below) and the periodic 2D materials ``graphene``, ``hbn``
and ``mos2`` (:mod:`hamkit.labelling.periodic_sources`).

Each input becomes a list of :class:`Job`: a key (the record's name in the store), a
``source_id`` fingerprint (so a resumed run can check that a key still means the same
input), the elements, and either a geometry or a SMILES string to embed in the worker
(:mod:`hamkit.labelling.jobs`, shared with the periodic presets).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hamkit.data.geometry_checks import check_geometry
from hamkit.data.structure import Structure, pbc_flags
from hamkit.errors import HamkitError
from hamkit.labelling.jobs import Job, geometry_id, geometry_job
from hamkit.labelling.periodic_sources import periodic_preset_jobs

WATER_BOND_ANGSTROM = 0.9572
WATER_ANGLE_DEGREES = 104.52
WATER_BOND_SIGMA = 0.04
WATER_ANGLE_SIGMA = 5.0
PERIODIC_PRESETS = ("graphene", "hbn", "mos2")
PRESETS = ("water", *PERIODIC_PRESETS)
__all__ = ["PERIODIC_PRESETS", "PRESETS", "Job", "embed_smiles", "geometry_id", "preset_jobs", "smiles_jobs",
           "water_geometry", "xyz_jobs"]


# --------------------------------------------------------------------- water preset
def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly random proper rotation (from a random unit quaternion), shape (3, 3)."""
    w, x, y, z = rng.normal(size=4)
    norm = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def water_geometry(seed: int, index: int) -> Structure:
    """One thermal-like water geometry, reproducible from ``(seed, index)``.

    Bond lengths ~ N(0.9572, 0.04) Angstrom (clipped to 0.8..1.15), HOH angle
    ~ N(104.52, 5) degrees (clipped to 90..120), then a uniformly random orientation;
    the oxygen sits at the origin.

    Args:
        seed: Run seed.
        index: Structure number.

    Returns:
        The structure (numbers ``[8, 1, 1]``).
    """
    rng = np.random.default_rng([seed, index])
    r1, r2 = np.clip(rng.normal(WATER_BOND_ANGSTROM, WATER_BOND_SIGMA, size=2), 0.8, 1.15)
    angle = math.radians(float(np.clip(rng.normal(WATER_ANGLE_DEGREES, WATER_ANGLE_SIGMA), 90, 120)))
    positions = np.array([
        [0.0, 0.0, 0.0],
        [r1, 0.0, 0.0],
        [r2 * math.cos(angle), r2 * math.sin(angle), 0.0],
    ])
    return Structure(np.array([8, 1, 1]), positions @ _random_rotation(rng).T)


def preset_jobs(name: str, count: int, seed: int) -> list[Job]:
    """Jobs of a built-in preset.

    Args:
        name: Preset name (one of :data:`PRESETS`).
        count: Number of structures (keys ``<name>_000000`` ...).
        seed: Seed of the random distortions.

    Raises:
        HamkitError: Unknown preset (with a suggestion).
    """
    if name in PERIODIC_PRESETS:
        return periodic_preset_jobs(name, count, seed)
    if name != "water":
        from hamkit.suggest import did_you_mean

        raise HamkitError(f"unknown preset {name!r}.{did_you_mean(name, PRESETS)}")
    return [geometry_job(f"water_{i:06d}", water_geometry(seed, i)) for i in range(count)]


# --------------------------------------------------------------------- xyz / extxyz
def xyz_jobs(path: str | Path, count: int | None = None) -> list[Job]:
    """Jobs from every frame of an xyz/extxyz file (read with ASE).

    The total charge is taken from a frame's ``charge`` info entry (default 0). A frame with
    a lattice and periodic directions (extxyz ``Lattice=... pbc="T T F"``) is a periodic
    structure; molecules and crystals cannot be mixed in one file.

    Args:
        path: The file.
        count: Use only the first ``count`` frames.

    Raises:
        HamkitError: Missing or unreadable file, no frames, or a frame with an unusable
            geometry (non-finite coordinates, atoms on top of each other, a degenerate cell).
    """
    path = Path(path)
    if not path.is_file():
        raise HamkitError(f"{path}: no such file")
    import ase.io

    try:
        frames = ase.io.read(path, index=":" if count is None else f":{count}")
    except Exception as error:  # noqa: BLE001 - ASE raises many kinds on bad input
        raise HamkitError(f"{path}: cannot read as xyz: {type(error).__name__}: {error}") from None
    if not frames:
        raise HamkitError(f"{path}: no structures found")
    jobs = []
    for i, atoms in enumerate(frames):
        periodic = bool(atoms.pbc.any())
        check_geometry(atoms.numbers, atoms.positions, f"{path}[{i}]",  # before any SCF is spent on it
                       np.asarray(atoms.cell.array) if periodic else None, tuple(bool(f) for f in atoms.pbc))
        structure = Structure(atoms.numbers, atoms.positions, int(atoms.info.get("charge", 0)),
                              cell=np.asarray(atoms.cell.array) if periodic else None,
                              pbc=pbc_flags(atoms.pbc) if periodic else (False, False, False))
        jobs.append(geometry_job(f"frame_{i:06d}", structure, {"frame": i}))
    return jobs


# --------------------------------------------------------------------- SMILES
def smiles_jobs(path: str | Path, seed: int = 0, count: int | None = None) -> list[Job]:
    """Jobs from a SMILES list: one molecule per line (``SMILES [name]``).

    Blank lines and lines starting with ``#`` are skipped. Every line is parsed with RDKit
    here, so a bad line fails at once; the 3D embedding happens later (in the workers).
    Keys are ``mol_000000``, ... in file order.

    Args:
        path: The file.
        seed: ETKDG random seed.
        count: Use only the first ``count`` molecules.

    Raises:
        HamkitError: Missing file, empty list, or a line RDKit cannot parse (names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise HamkitError(f"{path}: no such file")
    from rdkit import Chem, rdBase

    rdBase.DisableLog("rdApp.*")
    jobs: list[Job] = []
    for line_number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if count is not None and len(jobs) >= count:
            break
        smiles, _, name = text.partition(" ")
        molecule = Chem.MolFromSmiles(smiles)
        if molecule is None:
            raise HamkitError(f"{path}:{line_number}: RDKit cannot parse SMILES {smiles!r}")
        molecule = Chem.AddHs(molecule)
        elements = tuple(sorted({atom.GetAtomicNum() for atom in molecule.GetAtoms()}))
        extras = {"smiles": smiles, "line": line_number}
        if name.strip():
            extras["name"] = name.strip()
        jobs.append(Job(f"mol_{len(jobs):06d}", f"smiles:{smiles}|seed={seed}", elements,
                        smiles=smiles, seed=seed, extras=extras))
    if not jobs:
        raise HamkitError(f"{path}: no SMILES found")
    return jobs


def embed_smiles(smiles: str, seed: int) -> Structure:
    """3D structure of a SMILES: hydrogens added, ETKDGv3 conformer, then MMFF94 relaxation.

    Args:
        smiles: The SMILES.
        seed: ETKDG random seed (deterministic for a given RDKit version).

    Returns:
        The structure (Angstrom), charge = the molecule's total formal charge.

    Raises:
        ValueError: Unparsable SMILES or no conformer could be embedded.
    """
    from rdkit import Chem
    from rdkit.Chem import rdDistGeom, rdForceFieldHelpers  # what AllChem re-exports, with stubs

    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    molecule = Chem.AddHs(molecule)
    params = rdDistGeom.ETKDGv3()
    params.randomSeed = int(seed)  # type: ignore[assignment]  # rdkit-stubs type the setter as (*args)
    if rdDistGeom.EmbedMolecule(molecule, params) != 0:
        raise ValueError(f"RDKit could not embed a conformer for {smiles!r}")
    if rdForceFieldHelpers.MMFFHasAllMoleculeParams(molecule):
        rdForceFieldHelpers.MMFFOptimizeMolecule(molecule, maxIters=2000)
    numbers = np.array([atom.GetAtomicNum() for atom in molecule.GetAtoms()])
    positions = molecule.GetConformer().GetPositions()
    return Structure(numbers, positions, Chem.GetFormalCharge(molecule))
