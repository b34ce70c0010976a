"""Writing a record as a processed DeepH folder (canonical -> OpenMX order, Hartree -> eV).

The inverse of the ``deeph`` reader, so that round trips can be tested and
``hamkit data convert --to deeph`` can be built on it. A molecule gets every atom pair's
``R = (0, 0, 0)`` block (zeros included); ``R != 0`` hoppings in ``record.extras``
(``hopping_vectors``, ``hopping_hamiltonian``, ``hopping_overlap``, see
:mod:`hamkit_plugins.deeph.dataset`) are written for the atom pairs with a non-zero block.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_from_canonical
from hamkit_plugins.deeph.folder import HARTREE_EV, MATRIX_FILES

VACUUM_ANGSTROM = 20.0
"""Default cell of a molecule: a cube of its extent plus this much vacuum."""


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
        record: The record; needs ``overlap``. ``extras["lattice"]`` (rows) and
            ``extras["fermi_level"]`` (Hartree) are used when present.
        folder: Folder to create (may exist, but must not hold DeepH matrices yet).
        basis: The record's basis; every shell must have l <= 3 (the OpenMX table).
        lattice: Cell vectors as ROWS, Angstrom (default: ``extras["lattice"]``, else a
            cube with :data:`VACUUM_ANGSTROM` of vacuum).

    Returns:
        The folder.

    Raises:
        HamkitError: No overlap, or the folder already holds hamiltonians.h5/overlaps.h5.
    """
    import h5py

    folder = Path(folder)
    if record.overlap is None:
        raise HamkitError(f"record {record.key!r} has no overlap: DeepH folders need overlaps.h5")
    existing = [name for name in MATRIX_FILES if (folder / name).exists()]
    if existing:
        raise HamkitError(f"{folder} already holds {', '.join(existing)}: choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    numbers = record.structure.numbers
    positions = record.structure.positions
    if lattice is None:
        lattice = record.extras.get("lattice")
    cell = molecular_cell(positions) if lattice is None else np.asarray(lattice, dtype=np.float64)

    (folder / "element.dat").write_text("".join(f"{z}\n" for z in numbers.tolist()))
    (folder / "site_positions.dat").write_text(_format(positions.T))
    (folder / "lat.dat").write_text(_format(cell.T))
    (folder / "rlat.dat").write_text(_format(2 * np.pi * np.linalg.inv(cell.T).T))
    (folder / "orbital_types.dat").write_text(
        "".join(" ".join(str(l) for l in basis.shell_ls(z)) + "\n" for z in numbers.tolist()))
    info: dict[str, object] = {"isspinful": False}
    if "fermi_level" in record.extras:
        info["fermi_level"] = float(record.extras["fermi_level"]) * HARTREE_EV
    (folder / "info.json").write_text(json.dumps(info, indent=2) + "\n")

    hoppings = [((0, 0, 0), record.hamiltonian, record.overlap, True)]
    if "hopping_vectors" in record.extras:
        for vector, h, s in zip(np.asarray(record.extras["hopping_vectors"]).tolist(),
                                record.extras["hopping_hamiltonian"], record.extras["hopping_overlap"]):
            hoppings.append((tuple(int(v) for v in vector), h, s, False))
    offsets = basis.atom_orbital_offsets(numbers)
    with h5py.File(folder / "hamiltonians.h5", "w") as h_file, \
            h5py.File(folder / "overlaps.h5", "w") as s_file:
        for vector, hamiltonian, overlap, dense in hoppings:
            h_openmx = matrix_from_canonical(np.asarray(hamiltonian), numbers, basis, "openmx") * HARTREE_EV
            s_openmx = matrix_from_canonical(np.asarray(overlap), numbers, basis, "openmx")
            for i in range(len(numbers)):
                for j in range(len(numbers)):
                    rows = slice(offsets[i], offsets[i + 1])
                    cols = slice(offsets[j], offsets[j + 1])
                    h_block, s_block = h_openmx[rows, cols], s_openmx[rows, cols]
                    if dense or h_block.any() or s_block.any():
                        key = str([*vector, i + 1, j + 1])
                        h_file.create_dataset(key, data=h_block)
                        s_file.create_dataset(key, data=s_block)
    return folder
