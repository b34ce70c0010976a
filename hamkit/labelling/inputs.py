"""The structures of one ``hamkit data generate`` run and the provenance of where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hamkit.labelling import sources
from hamkit.labelling.jobs import Job

DEFAULT_PRESET_COUNT = 10


@dataclass(frozen=True)
class LabelInputs:
    """Jobs to label and their source.

    Attributes:
        jobs: One per structure.
        source: Provenance of the input (``{"kind": "preset"|"smiles"|"xyz", ...}``; files
            with their name and SHA-256).
        periodic: Whether the structures are periodic (a periodic preset, or a frame with a cell).
    """

    jobs: list[Job]
    source: dict[str, Any]
    periodic: bool


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def label_inputs(*, xyz: str | None = None, smiles: str | None = None, preset: str | None = None,
                 count: int | None = None, seed: int = 0) -> LabelInputs:
    """Jobs of exactly one of an xyz file, a SMILES list or a preset.

    Args:
        xyz: xyz/extxyz file (every frame).
        smiles: SMILES list.
        preset: Built-in preset name.
        count: Number of structures (presets default to :data:`DEFAULT_PRESET_COUNT`; files: all).
        seed: Seed of the preset distortions / the ETKDG embedding.

    Raises:
        HamkitError: Unreadable input or unknown preset.
    """
    source: dict[str, Any]
    if preset is not None:
        jobs = sources.preset_jobs(preset, count or DEFAULT_PRESET_COUNT, seed)
        source = {"kind": "preset", "name": preset, "seed": seed}
    elif smiles is not None:
        jobs = sources.smiles_jobs(smiles, seed, count)
        path = Path(smiles)
        source = {"kind": "smiles", "file": path.name, "sha256": _sha256(path), "seed": seed}
    else:
        if xyz is None:
            raise ValueError("label_inputs needs one of xyz, smiles or preset")
        jobs = sources.xyz_jobs(xyz, count)
        path = Path(xyz)
        source = {"kind": "xyz", "file": path.name, "sha256": _sha256(path)}
    periodic = preset in sources.PERIODIC_PRESETS or any(
        job.structure is not None and job.structure.is_periodic for job in jobs)
    return LabelInputs(jobs, source, periodic)
