"""What ``hamkit bands`` draws: a run's first test record, or a periodic structure file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.structure_files import read_structure_files
from hamkit.engine.prepare import prepare_data
from hamkit.errors import HamkitError

PERIODIC_NEEDED = "hamkit bands needs a periodic structure"


@dataclass(frozen=True)
class BandTarget:
    """What to draw: a structure, and its labelled record when there is one.

    Attributes:
        name: For messages and the plot title.
        structure: The periodic structure.
        record: The labelled record (reference H(R), S(R)), or None for a structure file.
    """

    name: str
    structure: Structure
    record: HamiltonianRecord | None


def split_record_target(trained: Any) -> BandTarget:
    """The first record of the run's test split (re-made from the run's recipe).

    Args:
        trained: The trained model (its ``recipe`` is used).

    Raises:
        HamkitError: Empty test split, or a molecule (no lattice translations).
    """
    data = prepare_data(trained.recipe)
    test = data.splits["test"]
    if len(test) == 0:
        raise HamkitError("the run's test split is empty; give a STRUCTURE file")
    record = data.dataset[int(test[0])]
    name = record.key or f"test record {int(test[0])}"
    if not record.is_periodic or record.structure.cell is None:
        raise HamkitError(f"{PERIODIC_NEEDED}; the run's test structure '{name}' is a molecule "
                          "(its dataset has no lattice translations)")
    if record.overlap is None:
        raise HamkitError(f"test structure '{name}' has no overlap S(R): reference bands need it")
    return BandTarget(name, record.structure, record)


def structure_file_target(path: Path) -> BandTarget:
    """The single periodic structure in an ASE-readable file.

    Raises:
        HamkitError: Missing or unreadable file, several frames, or no periodic cell.
    """
    structures = read_structure_files([path], allow_periodic=True)
    if len(structures) != 1:
        raise HamkitError(f"{path}: {len(structures)} structures in the file; give a file with exactly one")
    named = structures[0]
    if not named.structure.is_periodic:
        raise HamkitError(f"{PERIODIC_NEEDED}; {path} has no periodic cell (use a format with a lattice, "
                          "e.g. extxyz with Lattice=... pbc=\"T T F\", POSCAR or cif)")
    return BandTarget(named.name, named.structure, None)
