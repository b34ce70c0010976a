"""Writing a record as a processed DeepH folder (canonical -> OpenMX order, Hartree -> eV).

The inverse of the ``deeph`` reader (:mod:`hamkit_plugins.deeph.dataset`), so that round
trips can be tested and ``hamkit data convert --to deeph`` can be built on it.

* A molecule gets every atom pair's ``R = (0, 0, 0)`` block (zeros included) and a cubic
  cell (``extras["lattice"]``, the ``lattice`` argument, or :func:`molecular_cell`).
* A periodic record (``record.translations`` set) gets one dataset per ``(R, i, j)``
  whose block is non-zero in H or in S; both files get the same keys. ``lat.dat`` holds
  ``structure.cell``'s vectors as columns. A translation whose H(R) and S(R) are all zero
  is not written, and the reader derives ``pbc`` from the keys, so a record round trips
  exactly when every translation has a non-zero block and every periodic direction has
  some ``R_d != 0`` (the reader also sorts the translations: (0, 0, 0) first, then
  lexicographic).

Both write ``rlat.dat`` (reciprocal vectors as columns, with 2 pi, 1/Angstrom),
``element.dat``, ``site_positions.dat``, ``orbital_types.dat`` and ``info.json``
(``isspinful`` false, ``fermi_level`` in eV when ``extras["fermi_level"]`` is known).
Writing is atomic: the files go to a temporary sibling folder that is renamed to
``folder`` at the end, and removed on any failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError
from hamkit.physics.bloch import reciprocal_cell
from hamkit.physics.orbital_order import matrix_from_canonical
from hamkit.safe_output import atomic_folder
from hamkit_plugins.deeph.folder import HARTREE_EV, ORIGIN, Translation, format_key

VACUUM_ANGSTROM = 20.0
"""Default cell of a molecule: a cube of its extent plus this much vacuum."""

Block = tuple[str, np.ndarray, np.ndarray]
"""``(key, H block in eV, S block)``, OpenMX order."""


def molecular_cell(positions: np.ndarray, vacuum: float = VACUUM_ANGSTROM) -> np.ndarray:
    """Cubic cell (vectors as rows, Angstrom) holding the molecule with ``vacuum`` around it."""
    extent = float(np.ptp(positions, axis=0).max()) if len(positions) else 0.0
    return np.eye(3) * (extent + vacuum)


def _format(array: np.ndarray) -> str:
    rows = np.atleast_2d(array)
    return "\n".join(" ".join(f"{value:.17g}" for value in row) for row in rows) + "\n"


def write_deeph_folder(
    record: HamiltonianRecord,
    folder: str | os.PathLike[str],
    basis: OrbitalBasis,
    *,
    lattice: np.ndarray | None = None,
) -> Path:
    """Write one record (canonical, Hartree, Angstrom) as a processed DeepH folder.

    Args:
        record: The record; needs ``overlap``. Molecule: H and S (n, n). Periodic: H(R)
            and S(R) (n_R, n, n) with every -R present and ``structure.cell`` set.
            ``extras["fermi_level"]`` (Hartree) is written when present.
        folder: Folder to create; it must not exist or be empty.
        basis: The record's basis; every shell must have l <= 3 (the OpenMX table).
        lattice: Molecules only: cell vectors as ROWS, Angstrom (default:
            ``extras["lattice"]``, else a cube with :data:`VACUUM_ANGSTROM` of vacuum).

    Returns:
        The folder.

    Raises:
        HamkitError: No overlap, a non-empty folder, a periodic record without a cell or
            with a translation whose -R is missing, or ``lattice`` given for a periodic
            record. Nothing is left behind.
    """
    folder = Path(folder)
    if record.overlap is None:
        raise HamkitError(f"record {record.key!r} has no overlap: DeepH folders need overlaps.h5")
    _check_empty(folder)
    cell = _cell(record, lattice)
    blocks = _blocks(record, basis)
    with atomic_folder(folder) as staging:
        _write_text_files(staging, record, basis, cell)
        _write_matrices(staging, blocks)
    return folder


def _check_empty(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        held = sorted(entry.name for entry in folder.iterdir())[:5] if folder.is_dir() else []
        raise HamkitError(f"{folder} already exists{' and holds ' + ', '.join(held) if held else ''}: "
                          "choose a new or empty folder")


def _cell(record: HamiltonianRecord, lattice: np.ndarray | None) -> np.ndarray:
    """The cell to write, vectors as rows, Angstrom (module docstring)."""
    if not record.is_periodic:
        if lattice is None:
            lattice = record.extras.get("lattice")
        if lattice is None:
            return molecular_cell(record.structure.positions)
        return np.asarray(lattice, dtype=np.float64)
    if lattice is not None:
        raise HamkitError(f"record {record.key!r} is periodic: its cell is structure.cell, do not pass "
                          "'lattice'")
    if record.structure.cell is None:
        raise HamkitError(f"record {record.key!r} has matrices per translation but its structure has no "
                          "cell: set Structure.cell (lattice vectors as rows, Angstrom)")
    return record.structure.cell


def _translations(record: HamiltonianRecord) -> list[Translation]:
    """The record's translations ((0, 0, 0) alone for a molecule), each with its -R.

    Raises:
        HamkitError: A translation without -R.
    """
    if record.translations is None:
        return [ORIGIN]
    translations = [(int(rx), int(ry), int(rz)) for rx, ry, rz in record.translations.tolist()]
    present = set(translations)
    missing = [t for t in translations if (-t[0], -t[1], -t[2]) not in present]
    if missing:
        raise HamkitError(f"record {record.key!r} has translation {list(missing[0])} without "
                          f"{[-v for v in missing[0]]}: periodic records hold both R and -R "
                          "(H(-R) = H(R)^T)")
    return translations


def _blocks(record: HamiltonianRecord, basis: OrbitalBasis) -> list[Block]:
    """Every block to write: all pairs for a molecule, the non-zero ones (in H or S) for a crystal."""
    assert record.overlap is not None, "write_deeph_folder rejects records without an overlap"
    numbers = record.structure.numbers
    translations = _translations(record)
    shape = (len(translations), *np.shape(record.hamiltonian)[-2:])
    h_openmx = matrix_from_canonical(np.reshape(record.hamiltonian, shape), numbers, basis, "openmx") * HARTREE_EV
    s_openmx = matrix_from_canonical(np.reshape(record.overlap, shape), numbers, basis, "openmx")
    offsets = basis.atom_orbital_offsets(numbers)
    keep_zero = not record.is_periodic
    blocks: list[Block] = []
    for r, translation in enumerate(translations):
        for i in range(len(numbers)):
            for j in range(len(numbers)):
                rows, columns = slice(offsets[i], offsets[i + 1]), slice(offsets[j], offsets[j + 1])
                h_block, s_block = h_openmx[r, rows, columns], s_openmx[r, rows, columns]
                if keep_zero or h_block.any() or s_block.any():
                    blocks.append((format_key(translation, i, j), h_block, s_block))
    return blocks


def _write_text_files(folder: Path, record: HamiltonianRecord, basis: OrbitalBasis, cell: np.ndarray) -> None:
    """element.dat, site_positions.dat, lat.dat, rlat.dat, orbital_types.dat, info.json."""
    numbers = record.structure.numbers
    (folder / "element.dat").write_text("".join(f"{z}\n" for z in numbers.tolist()))
    (folder / "site_positions.dat").write_text(_format(record.structure.positions.T))
    (folder / "lat.dat").write_text(_format(cell.T))
    (folder / "rlat.dat").write_text(_format(reciprocal_cell(cell).T))
    (folder / "orbital_types.dat").write_text(
        "".join(" ".join(str(l) for l in basis.shell_ls(z)) + "\n" for z in numbers.tolist()))
    info: dict[str, object] = {"isspinful": False}
    if "fermi_level" in record.extras:
        info["fermi_level"] = float(record.extras["fermi_level"]) * HARTREE_EV
    (folder / "info.json").write_text(json.dumps(info, indent=2) + "\n")


def _write_matrices(folder: Path, blocks: list[Block]) -> None:
    """hamiltonians.h5 and overlaps.h5, the same keys in both."""
    import h5py

    with h5py.File(folder / "hamiltonians.h5", "w") as h_file, h5py.File(folder / "overlaps.h5", "w") as s_file:
        for key, h_block, s_block in blocks:
            h_file.create_dataset(key, data=h_block)
            s_file.create_dataset(key, data=s_block)
