"""A labelling job: one structure to label, keyed and fingerprinted.

Shared by the molecular inputs (:mod:`hamkit.labelling.sources`) and the periodic presets
(:mod:`hamkit.labelling.periodic_sources`), so neither imports the other for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hamkit.data.structure import Structure


@dataclass(frozen=True)
class Job:
    """One structure to label.

    Attributes:
        key: Record key in the store.
        source_id: Fingerprint of the input (geometry hash, or SMILES and seed).
        elements: Atomic numbers present (sorted, unique), known before any geometry.
        structure: The atoms, or None when ``smiles`` must be embedded first.
        smiles: SMILES to embed (hydrogens added) when ``structure`` is None.
        seed: Random seed of the embedding.
        extras: Labels to store with the record (e.g. ``{"smiles": ..., "line": ...}``).
    """

    key: str
    source_id: str
    elements: tuple[int, ...]
    structure: Structure | None = None
    smiles: str | None = None
    seed: int = 0
    extras: dict[str, Any] = field(default_factory=dict)


def geometry_id(structure: Structure) -> str:
    """Fingerprint of a geometry: numbers, charge and positions rounded to 1e-8 Angstrom.

    A periodic structure adds its cell (rounded the same way) and pbc flags.
    """
    digest = hashlib.sha256()
    digest.update(structure.numbers.astype(np.int64).tobytes())
    digest.update(np.int64(structure.charge).tobytes())
    digest.update(np.round(structure.positions, 8).astype(np.float64).tobytes())
    if structure.cell is not None:
        digest.update(np.round(structure.cell, 8).astype(np.float64).tobytes())
        digest.update(np.array(structure.pbc, dtype=bool).tobytes())
    return f"geometry:sha256:{digest.hexdigest()[:32]}"


def geometry_job(key: str, structure: Structure, extras: dict[str, Any] | None = None) -> Job:
    """A job for a known geometry (its elements and :func:`geometry_id` filled in).

    Args:
        key: Record key in the store.
        structure: The atoms.
        extras: Labels to store with the record.
    """
    elements = tuple(sorted(set(structure.numbers.tolist())))
    return Job(key, geometry_id(structure), elements, structure=structure, extras=extras or {})
