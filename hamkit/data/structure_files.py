"""Unlabelled structures from any file ASE reads (xyz, extxyz, cif, POSCAR, ...).

Every frame of every file becomes one structure, in input order (files as given, frames
in file order). Positions are ASE's, Angstrom. Periodic frames keep their cell and pbc
when the caller accepts them (``allow_periodic``), and are refused otherwise. Every frame
passes :func:`hamkit.data.geometry_checks.check_geometry` (finite coordinates, real
elements, no atoms on top of each other, a cell that spans space) before any model work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hamkit.data.geometry_checks import check_geometry
from hamkit.data.structure import Structure, pbc_flags
from hamkit.errors import HamkitError

PERIODIC_MESSAGE = "this command handles molecules only (crystals: hamkit predict, hamkit bands)"


@dataclass(frozen=True)
class NamedStructure:
    """A structure and where it came from.

    Attributes:
        name: ``"<file>"`` for a single-frame file, ``"<file>[<frame>]"`` otherwise.
        structure: The atoms (Angstrom) and total charge.
    """

    name: str
    structure: Structure


def read_structure_files(
    paths: Sequence[str | Path], charge: int | None = None, allow_periodic: bool = False
) -> list[NamedStructure]:
    """Read every frame of every file with ASE.

    Args:
        paths: Structure files in any format ASE recognizes from the name or content.
        charge: Total charge of every structure; None takes each frame's ``charge`` info
            entry (extxyz), else 0.
        allow_periodic: Accept frames with periodic boundary conditions.

    Returns:
        The structures in input order.

    Raises:
        HamkitError: Missing or unreadable file, a file without frames, a periodic frame
            (unless allowed), or bad geometry (:func:`~hamkit.data.geometry_checks.check_geometry`).
    """
    import ase.io

    structures: list[NamedStructure] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise HamkitError(f"{path}: no such structure file")
        try:
            frames = ase.io.read(path, index=":")
        except Exception as error:  # noqa: BLE001 - ASE raises many kinds on bad input
            message = str(error).splitlines()[0] if str(error) else ""
            raise HamkitError(
                f"{path}: ASE cannot read it as a structure file ({type(error).__name__}: {message})"
            ) from None
        if not isinstance(frames, list):
            frames = [frames]
        if not frames:
            raise HamkitError(f"{path}: no structures in the file")
        for index, atoms in enumerate(frames):
            name = str(path) if len(frames) == 1 else f"{path}[{index}]"
            if len(atoms) == 0:
                raise HamkitError(f"{name}: the structure has no atoms")
            if atoms.pbc.any() and not allow_periodic:
                raise HamkitError(f"{name}: the structure is periodic (pbc={atoms.pbc.tolist()}); "
                                  f"{PERIODIC_MESSAGE}")
            check_geometry(atoms.numbers, atoms.positions, name, atoms.cell.array, atoms.pbc)
            frame_charge = charge if charge is not None else int(atoms.info.get("charge", 0))
            periodic = bool(atoms.pbc.any())
            structures.append(NamedStructure(name, Structure(
                atoms.numbers, atoms.positions, frame_charge,
                cell=np.asarray(atoms.cell.array) if periodic else None,
                pbc=pbc_flags(atoms.pbc) if periodic else (False, False, False))))
    return structures
