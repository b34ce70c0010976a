"""Extended-XYZ files of structures, written for the command-line tests."""

from __future__ import annotations

from pathlib import Path

from hamkit.data.structure import Structure


def write_extxyz(structure: Structure, path: Path) -> Path:
    """A one-frame extxyz file with the structure's lattice and pbc (ASE writes it)."""
    import ase
    import ase.io

    ase.io.write(path, ase.Atoms(numbers=structure.numbers, positions=structure.positions, cell=structure.cell,
                                 pbc=list(structure.pbc)))
    return path
