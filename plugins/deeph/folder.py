"""Reading one processed DeepH folder (the files DeepH's preprocessing writes).

Files (one folder per structure):

* ``element.dat``: atomic numbers, one per atom;
* ``site_positions.dat``: Cartesian positions, 3 rows x N columns, Angstrom;
* ``lat.dat``: 3 x 3, lattice vectors as COLUMNS, Angstrom (``rlat.dat``: reciprocal);
* ``orbital_types.dat``: one line per atom, the ``l`` of each shell (e.g. ``0 0 1 1 2``);
* ``info.json``: ``{"isspinful": bool, "fermi_level": eV, ...}``;
* ``hamiltonians.h5`` / ``overlaps.h5``: one dataset per hopping, key
  ``"[Rx, Ry, Rz, i, j]"`` (lattice translation, 1-based atoms), value = the block
  (orbitals of i x orbitals of j) in OpenMX orbital order, eV (overlap dimensionless).
  Pairs that are absent are zero.

The block ``[R, i, j]`` couples atom i of the home cell with atom j of the cell shifted by
``R`` (lattice vectors); its Hermitian partner is ``[-R, j, i]``, equal to its transpose.
This module reads the blocks (:func:`read_blocks`), completes missing partners
(:func:`complete_partners`), assembles one matrix per translation (:func:`assemble`) and
checks that partners agree (:func:`check_partners`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.validation import SYMMETRY_TOLERANCE, record_error

HARTREE_EV = 27.211386245988
"""1 Hartree in eV (CODATA 2018)."""

OPENMX_MAX_L = 3
"""The OpenMX orbital-order table covers s, p, d, f."""

HEADER_FILES = ("element.dat", "orbital_types.dat", "info.json")
STRUCTURE_FILES = ("site_positions.dat", "lat.dat")
MATRIX_FILES = ("hamiltonians.h5", "overlaps.h5")
_KEY = re.compile(r"^\[\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*\]$")

Translation = tuple[int, int, int]
BlockKey = tuple[Translation, int, int]
"""``(R, i, j)``: lattice translation and 0-based atoms of one block."""

ORIGIN: Translation = (0, 0, 0)


@dataclass(frozen=True)
class FolderHeader:
    """The cheap part of a folder: atoms and shells.

    Attributes:
        folder: The folder.
        numbers: Atomic numbers, shape (n_atoms,), int64.
        orbital_types: Shell degrees per atom, in file order.
        info: The decoded ``info.json``.
    """

    folder: Path
    numbers: np.ndarray
    orbital_types: tuple[tuple[int, ...], ...]
    info: dict[str, Any]


def _require(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise record_error(folder, None, f"has no {name}",
                           "a processed DeepH folder holds element.dat, site_positions.dat, lat.dat, "
                           "orbital_types.dat, info.json, hamiltonians.h5 and overlaps.h5")
    return path


def _load_text(folder: Path, name: str, ndmin: Literal[1, 2]) -> np.ndarray:
    try:
        return np.loadtxt(_require(folder, name), dtype=np.float64, ndmin=ndmin)
    except ValueError as error:
        raise record_error(folder, None, f"{name} cannot be read as numbers ({error})",
                           "the file is damaged") from None


def read_header(folder: Path) -> FolderHeader:
    """Read element.dat, orbital_types.dat and info.json.

    Raises:
        RecordError: Missing or unreadable files, spinful data, non-integer elements, an
            atom count that differs between the files, or ``l`` beyond the OpenMX table.
    """
    try:
        info = json.loads(_require(folder, "info.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise record_error(folder, None, f"info.json is not JSON ({error})", "the file is damaged") from None
    if not isinstance(info, dict):
        raise record_error(folder, None, "info.json is not a JSON object", "the file is damaged")
    if info.get("isspinful"):
        raise record_error(folder, None, "holds spinful data (info.json: isspinful = true): "
                           "spin-orbit Hamiltonians are not supported yet",
                           "use spinless (collinear) DeepH data")
    elements = _load_text(folder, "element.dat", 1).reshape(-1)
    if elements.size == 0 or not np.all(np.isfinite(elements)) or np.any(elements != np.round(elements)):
        raise record_error(folder, None, f"element.dat holds {elements.tolist()[:10]}, not atomic numbers",
                           "the file is damaged")
    lines = [line.split() for line in _require(folder, "orbital_types.dat").read_text().splitlines()
             if line.strip()]
    try:
        orbital_types = tuple(tuple(int(value) for value in line) for line in lines)
    except ValueError as error:
        raise record_error(folder, None, f"orbital_types.dat cannot be read as integers ({error})",
                           "the file is damaged") from None
    if len(orbital_types) != elements.size:
        raise record_error(folder, None, f"element.dat lists {elements.size} atoms but "
                           f"orbital_types.dat {len(orbital_types)}", "the files are damaged")
    for atom, ls in enumerate(orbital_types, start=1):
        if not ls or min(ls) < 0 or max(ls) > OPENMX_MAX_L:
            raise record_error(folder, None, f"orbital_types.dat line {atom} is {list(ls)}: shells "
                               f"must have 0 <= l <= {OPENMX_MAX_L} (the OpenMX order table)",
                               "the file is damaged or holds shells hamkit cannot reorder")
    return FolderHeader(folder, elements.astype(np.int64), orbital_types, info)


def header_shells(header: FolderHeader) -> dict[int, tuple[int, ...]]:
    """``{Z: shells}`` of one folder.

    Raises:
        RecordError: Two atoms of one element with different shells.
    """
    shells: dict[int, tuple[int, ...]] = {}
    for atom, (z, ls) in enumerate(zip(header.numbers.tolist(), header.orbital_types), start=1):
        if shells.setdefault(z, ls) != ls:
            raise record_error(header.folder, None, f"atom {atom} (Z={z}) has shells {list(ls)} but an "
                               f"earlier atom of that element {list(shells[z])}",
                               "per-atom bases are not supported")
    return shells


def read_structure(folder: Path, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n_atoms, 3) and lattice (3, 3), vectors as ROWS, both Angstrom.

    Raises:
        RecordError: Shapes that disagree with the atom count, or non-finite values.
    """
    positions = _load_text(folder, "site_positions.dat", 2)
    if positions.shape != (3, n_atoms):
        raise record_error(folder, None, f"site_positions.dat has shape {positions.shape}, expected "
                           f"(3, {n_atoms}) (3 rows, one column per atom)", "the file is damaged")
    lattice = _load_text(folder, "lat.dat", 2)
    if lattice.shape != (3, 3):
        raise record_error(folder, None, f"lat.dat has shape {lattice.shape}, expected (3, 3)",
                           "the file is damaged")
    if not (np.all(np.isfinite(positions)) and np.all(np.isfinite(lattice))):
        raise record_error(folder, None, "site_positions.dat or lat.dat holds NaN or infinite values",
                           "the file is damaged")
    return positions.T.copy(), lattice.T.copy()


def check_cell(folder: Path, cell: np.ndarray) -> np.ndarray:
    """A periodic folder's cell (3, 3), vectors as rows, must span space.

    Raises:
        RecordError: ``|det(cell)| < 1e-8`` Angstrom^3.
    """
    if abs(float(np.linalg.det(cell))) < 1e-8:
        raise record_error(folder, None, f"lat.dat holds a singular lattice {cell.T.tolist()} but "
                           "hamiltonians.h5 has blocks with R != (0, 0, 0)",
                           "lat.dat must hold the three lattice vectors as columns (Angstrom)")
    return cell


def format_key(translation: Translation, i: int, j: int) -> str:
    """The dataset name of block ``(R, i, j)`` (0-based atoms), e.g. ``"[1, 0, 0, 1, 2]"``."""
    return str([*translation, i + 1, j + 1])


def parse_key(key: str, n_atoms: int, folder: Path, file_name: str) -> BlockKey:
    """``"[Rx, Ry, Rz, i, j]"`` to ``((Rx, Ry, Rz), i, j)`` with 0-based atoms.

    Raises:
        RecordError: Malformed key or atom index out of range.
    """
    match = _KEY.match(key)
    if match is None:
        raise record_error(folder, None, f"{file_name} has a dataset named {key!r}, expected "
                           "'[Rx, Ry, Rz, i, j]'", "this is not a processed DeepH file")
    rx, ry, rz, i, j = (int(value) for value in match.groups())
    if not (1 <= i <= n_atoms and 1 <= j <= n_atoms):
        raise record_error(folder, None, f"{file_name} key {key} names atoms {i}, {j}, but the "
                           f"structure has {n_atoms} (1-based)", "the files do not belong together")
    return (rx, ry, rz), i - 1, j - 1


def read_blocks(
    folder: Path, file_name: str, numbers: np.ndarray, basis: OrbitalBasis
) -> dict[BlockKey, np.ndarray]:
    """Read every block of one ``.h5`` file (file order, file units).

    Args:
        folder: The folder.
        file_name: ``"hamiltonians.h5"`` or ``"overlaps.h5"``.
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element (from the orbital types).

    Returns:
        ``{(R, i, j): block}`` with 0-based atoms; block of shape (orbitals of i, orbitals
        of j), float64, OpenMX order, eV (H) or dimensionless (S).

    Raises:
        RecordError: Unreadable file, malformed key, a block whose shape disagrees with the
            orbital types, non-finite values.
    """
    import h5py

    path = _require(folder, file_name)
    sizes = np.diff(basis.atom_orbital_offsets(numbers))
    blocks: dict[BlockKey, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            for key in handle.keys():
                block_key = parse_key(key, len(numbers), folder, file_name)
                block = np.asarray(handle[key][()], dtype=np.float64)
                _, i, j = block_key
                shape = (int(sizes[i]), int(sizes[j]))
                if block.shape != shape:
                    raise record_error(folder, None, f"{file_name} block {key} has shape {block.shape}, "
                                       f"but orbital_types.dat gives {shape}",
                                       "the files do not belong together, or the data is spinful")
                if not np.all(np.isfinite(block)):
                    raise record_error(folder, None, f"{file_name} block {key} contains NaN or "
                                       "infinite values", "the file is damaged: regenerate it")
                blocks[block_key] = block
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise record_error(folder, None, f"{file_name} cannot be read as HDF5 ({error})",
                           "the file is truncated or damaged: regenerate it") from None
    return blocks


def partner_key(key: BlockKey) -> BlockKey:
    """The Hermitian partner ``(-R, j, i)`` of block ``(R, i, j)``."""
    (rx, ry, rz), i, j = key
    return (-rx, -ry, -rz), j, i


def complete_partners(blocks: dict[BlockKey, np.ndarray]) -> list[BlockKey]:
    """Add the transpose of every block whose partner ``(-R, j, i)`` is absent (in place).

    Returns:
        The keys added, in the order of the blocks they were made from.
    """
    added = [partner_key(key) for key in blocks if partner_key(key) not in blocks]
    for key in added:
        blocks[key] = blocks[partner_key(key)].T.copy()
    return added


def sorted_translations(*block_sets: dict[BlockKey, np.ndarray]) -> list[Translation]:
    """Every R of the blocks: (0, 0, 0) first, then lexicographic."""
    translations = {translation for blocks in block_sets for translation, _, _ in blocks}
    return sorted(translations, key=lambda translation: (translation != ORIGIN, translation))


def periodic_directions(translations: list[Translation]) -> tuple[bool, bool, bool]:
    """``pbc[d]``: True where some translation has ``R_d != 0``."""
    flags = np.any(np.asarray(translations, dtype=np.int64).reshape(-1, 3) != 0, axis=0)
    return (bool(flags[0]), bool(flags[1]), bool(flags[2]))


def assemble(
    blocks: dict[BlockKey, np.ndarray], translations: list[Translation], offsets: np.ndarray
) -> np.ndarray:
    """Full matrices, one per translation, shape (n_R, n, n); absent blocks zero.

    Args:
        blocks: ``{(R, i, j): block}`` from :func:`read_blocks`.
        translations: The R of the result, in order; every block's R must be among them.
        offsets: Atom orbital offsets, shape (n_atoms + 1,).
    """
    index = {translation: r for r, translation in enumerate(translations)}
    n = int(offsets[-1])
    matrices = np.zeros((len(translations), n, n))
    for (translation, i, j), block in blocks.items():
        matrices[index[translation], offsets[i]:offsets[i + 1], offsets[j]:offsets[j + 1]] = block
    return matrices


def check_partners(
    matrices: np.ndarray,
    translations: list[Translation],
    offsets: np.ndarray,
    *,
    folder: Path,
    file_name: str,
    unit: str,
    tolerance: float = SYMMETRY_TOLERANCE,
) -> None:
    """Require ``M(-R) = M(R)^T`` (for R = 0: M symmetric), naming the worst pair of blocks.

    Args:
        matrices: (n_R, n, n), any orbital order (the relation holds in every order).
        translations: The R of ``matrices``; each must come with -R.
        offsets: Atom orbital offsets, shape (n_atoms + 1,).
        folder: The folder, for the message.
        file_name: The ``.h5`` file the matrices came from, for the message.
        unit: Unit of ``matrices`` (``"Ha"``, ``""``), for the message.
        tolerance: Accepted ``max |M(R) - M(-R)^T|`` relative to ``max(1, max |M|)``.

    Raises:
        RecordError: A pair of blocks that are not each other's transpose.
    """
    index = {translation: r for r, translation in enumerate(translations)}
    partners = [index[(-rx, -ry, -rz)] for rx, ry, rz in translations]
    difference = np.abs(matrices - matrices[partners].transpose(0, 2, 1))
    scale = max(1.0, float(np.abs(matrices).max(initial=0.0)))
    if difference.size == 0 or float(difference.max()) <= tolerance * scale:
        return
    r, row, column = np.unravel_index(int(np.argmax(difference)), difference.shape)
    i = int(np.searchsorted(offsets, row, side="right")) - 1
    j = int(np.searchsorted(offsets, column, side="right")) - 1
    key = (translations[r], i, j)
    raise record_error(folder, None, f"{file_name} blocks {format_key(*key)} and "
                       f"{format_key(*partner_key(key))} are not each other's transpose "
                       f"(max difference {float(difference.max()):.3g}{' ' + unit if unit else ''})",
                       "the file is damaged or not Hermitian: regenerate it")
