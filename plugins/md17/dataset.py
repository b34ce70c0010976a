"""The ``md17`` dataset: SchNOrb / MD17 Hamiltonian databases (ASE SQLite databases).

Layout (one ASE row per geometry): ``row.numbers``, ``row.positions`` (Angstrom);
``row.data["hamiltonian"]`` and ``row.data["overlap"]`` (n x n, or n*n values) in ORCA's
orbital order, Hartree; ``row.data["energy"]`` (Hartree) and ``row.data["forces"]``. Old
files store the arrays base64-encoded with ``_shape_<name>``/``_dtype_<name>`` entries
(see :mod:`hamkit_plugins.md17.arrays`).

Records: H and S reordered ORCA -> canonical (``p`` gather [2, 0, 1], ``d`` gather
[4, 2, 0, 1, 3], signs +1; verified for s, p, d in docs/CONVENTIONS.md), Hartree,
positions in Angstrom; ``extras["energy"]`` (Hartree) and ``extras["forces"]`` (as stored,
unconverted), key = the ASE row id. The file is opened read-only: it is checked to be an
ASE database first, because ``ase.db.connect`` would otherwise create tables in it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from hamkit.components import BuildContext, ComponentConfig
from hamkit.data.basis import OrbitalBasis
from hamkit.data.readers import FileDataset, existing_path
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.validation import check_matrix, check_numbers, check_positions, record_error, scan_basis
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit_plugins.md17.arrays import decode_array

ORCA_VERIFIED_MAX_L = 2
"""ORCA's order and signs are verified for s, p, d only (docs/CONVENTIONS.md)."""

_READ_ERRORS = (sqlite3.Error, OSError, ValueError, KeyError, TypeError, AttributeError)


class Md17Config(ComponentConfig):
    """Options of the ``md17`` dataset."""

    path: str = Field(description="SchNOrb/MD17 ASE database (.db).")
    basis: str = Field("def2-svp", description="PySCF name of the basis the matrices are in.")
    limit: int | None = Field(None, ge=1, description="Use only the first N rows.")


def _row_ids(path: Path) -> list[int]:
    """Row ids of an ASE SQLite database, read through a read-only connection.

    Raises:
        RecordError: Not SQLite, damaged, or no ASE ``systems`` table.
    """
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            query = "SELECT name FROM sqlite_master WHERE type='table'"
            tables = {row[0] for row in connection.execute(query)}
            if "systems" not in tables:
                raise record_error(path, None, f"has no ASE 'systems' table (tables: {sorted(tables)})",
                                   "this is not an ASE database (SchNOrb/MD17 files are)")
            return [int(row[0]) for row in connection.execute("SELECT id FROM systems ORDER BY id")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise record_error(path, None, f"cannot read it as an ASE SQLite database ({error})",
                           "the file is truncated, damaged or not an ASE database") from None


class Md17Dataset(FileDataset):
    """SchNOrb / MD17 Hamiltonians and overlaps from an ASE database (ORCA order, Hartree)."""

    name: ClassVar[str] = "md17"
    Config: ClassVar[type[ComponentConfig]] = Md17Config
    format_label = "SchNOrb/MD17 ASE database"

    def __init__(self, config: Md17Config) -> None:
        import ase.db

        self.config = config
        self.path = existing_path(config.path, "a SchNOrb/MD17 ASE database")
        if self.path.is_dir():
            raise record_error(self.path, None, "is a folder", "give the .db file")
        self.ids = _row_ids(self.path)
        self.record_names = [f"row {row_id}" for row_id in self.ids]
        self.limit = config.limit
        try:
            self.db = ase.db.connect(str(self.path), type="db", create_indices=False, use_lock_file=False)
            by_id = {int(row.id): np.asarray(row.numbers, dtype=np.int64)
                     for row in self.db.select(include_data=False, sort="id", limit=len(self))}
            self._numbers_cache = [by_id[row_id] for row_id in self.ids[: len(self)]]
        except _READ_ERRORS as error:
            raise record_error(self.path, None, f"cannot read the rows ({type(error).__name__}: {error})",
                               "the file is truncated or damaged; ASE may need 'python -m ase.db."
                               "convert' for very old files") from None
        self.basis: OrbitalBasis = scan_basis(
            config.basis, list(zip(self.record_names, self._numbers_cache)), self.path)
        if self.basis.max_l > ORCA_VERIFIED_MAX_L:
            raise record_error(self.path, None,
                               f"basis {config.basis!r} has shells with l={self.basis.max_l}: ORCA's "
                               "order and signs of f and higher functions are unverified in hamkit",
                               "use data with s, p, d shells only (e.g. def2-SVP for H-Ne)")

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> Md17Dataset:
        """Build from validated options (the context is not needed)."""
        return cls(config)  # type: ignore[arg-type]

    def _numbers(self, position: int) -> np.ndarray:
        return self._numbers_cache[position]

    def _read(self, position: int) -> HamiltonianRecord:
        name = self.record_names[position]
        try:
            row = self.db.get(id=self.ids[position])
            data = dict(row.data)
            numbers, stored = np.asarray(row.numbers), np.asarray(row.positions)
        except _READ_ERRORS as error:
            raise record_error(self.path, name, f"cannot be read ({type(error).__name__}: {error})",
                               "the file is truncated or damaged") from None
        numbers = check_numbers(numbers, self.basis, self.path, name)
        positions = check_positions(stored, len(numbers), self.path, name)
        n_orbitals = self.basis.total_orbitals(numbers)
        matrices = {}
        for entry in ("hamiltonian", "overlap"):
            matrix = check_matrix(decode_array(data, entry, self.path, name), n_orbitals, name=entry,
                                  source=self.path, record=name, basis_name=self.basis.name)
            matrices[entry] = matrix_to_canonical(matrix, numbers, self.basis, "orca")
        return HamiltonianRecord(Structure(numbers, positions), matrices["hamiltonian"],
                                 matrices["overlap"], key=str(self.ids[position]),
                                 extras=self._extras(data, len(numbers), name))

    def _extras(self, data: dict[str, Any], n_atoms: int, name: str) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        if "energy" in data:
            energy = np.asarray(decode_array(data, "energy", self.path, name), dtype=np.float64)
            if energy.size != 1 or not np.isfinite(energy).all():
                raise record_error(self.path, name, f"data['energy'] is {energy.tolist()}, not one "
                                   "finite number", "the file is damaged")
            extras["energy"] = float(energy.reshape(-1)[0])
        if "forces" in data:
            forces = np.asarray(decode_array(data, "forces", self.path, name), dtype=np.float64)
            if forces.size != 3 * n_atoms or not np.isfinite(forces).all():
                raise record_error(self.path, name, f"data['forces'] has {forces.size} values "
                                   f"(expected {3 * n_atoms} finite values)", "the file is damaged")
            extras["forces"] = forces.reshape(n_atoms, 3)
        return extras

    @property
    def provenance(self) -> dict[str, Any]:
        """Source file and the labels' code."""
        return {"source": {"format": "md17", "layout": self.format_label, "path": str(self.path)},
                "code": "orca", "basis": self.config.basis}

    def describe_notes(self) -> list[str]:
        """Conventions of the file."""
        return ["matrices in the file: ORCA order, Hartree; returned in canonical order",
                "extras: energy (Hartree), forces (as stored in the file)"]
