"""The ``qh9`` dataset: QH9-stable and QH9-dynamic (SQLite or processed LMDB).

Every record comes out in hamkit's conventions: positions in Angstrom (QH9-dynamic's Bohr
positions are multiplied by PySCF's ``BOHR`` = 0.52917721092), H in the canonical orbital
order (from PySCF order), Hartree, and S recomputed with PySCF for the same atoms and basis
(cached; see :mod:`hamkit_plugins.qh9.overlap_cache`). The overlap of a QH9-dynamic record
is computed from the stored Bohr coordinates directly, so no unit round trip enters it.

:meth:`Qh9Dataset.key_and_structure` (what data preparation calls for every record) reads
only the atoms: same key, numbers, positions and charge as the full record, without
decoding, checking or reordering H and without computing (or loading) S.

Record extras: ``qh9_id`` (the ``id`` field) and, for QH9-dynamic, ``geo_id`` (the
molecule a geometry belongs to: keep one ``geo_id`` in one split), ``ekin``, ``epot``,
``etot``, ``time`` and ``converged`` as stored.

QH9 labels are B3LYP/def2-SVP from PySCF before 2.3, i.e. ``xc='b3lyp5'`` in current
PySCF (see docs/CONVENTIONS.md, "DFT labels").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from hamkit.components import BuildContext, ComponentConfig
from hamkit.data.basis import OrbitalBasis
from hamkit.data.readers import FileDataset, existing_path
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.validation import check_matrix, check_numbers, check_positions, record_error, scan_basis
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit_plugins.qh9.overlap_cache import CacheMode, OverlapCache
from hamkit_plugins.qh9.sources import LmdbSource, RawRecord, RawStructure, SqliteSource, open_source

QH9_ELEMENTS = (1, 6, 7, 8, 9)
"""Elements of QH9 (H, C, N, O, F): the default basis coverage of an LMDB file."""


def bohr_in_angstrom() -> float:
    """PySCF's Bohr radius in Angstrom (``pyscf.lib.param.BOHR``)."""
    from pyscf.lib import param

    return float(param.BOHR)


class Qh9Config(ComponentConfig):
    """Options of the ``qh9`` dataset."""

    path: str = Field(description="QH9 SQLite database (.db), or a processed QH9 LMDB folder/file.")
    variant: Literal["stable", "dynamic"] | None = Field(
        None, description="QH9-stable (positions in Angstrom) or QH9-dynamic (Bohr); "
        "detected from the file when left out.")
    basis: str = Field("def2-svp", description="PySCF basis the Hamiltonians are expressed in.")
    limit: int | None = Field(None, ge=1, description="Use only the first N records.")
    elements: list[int] | None = Field(
        None, description="Atomic numbers the basis must cover. Default: read from the file "
        "(SQLite), or QH9's H, C, N, O, F (LMDB, which cannot be scanned cheaply).")
    overlap_cache: CacheMode = Field(
        "user", description="Where recomputed overlaps are cached: 'user' ($HAMKIT_CACHE or "
        "~/.cache/hamkit), 'beside' (<file>.hamkit-overlaps/), or 'off'.")


class Qh9Dataset(FileDataset):
    """QH9-stable / QH9-dynamic Hamiltonians (SQLite or LMDB); S recomputed with PySCF and cached."""

    name: ClassVar[str] = "qh9"
    Config: ClassVar[type[ComponentConfig]] = Qh9Config

    def __init__(self, config: Qh9Config) -> None:
        self.config = config
        self.path = existing_path(config.path, "a QH9 SQLite database or LMDB")
        self.source: SqliteSource | LmdbSource = open_source(self.path, config.variant)
        self.variant: str = self.source.variant
        self.record_names = self.source.names
        self.limit = config.limit
        layout = "SQLite" if isinstance(self.source, SqliteSource) else "LMDB"
        self.format_label = f"QH9-{self.variant} ({layout})"
        self.basis: OrbitalBasis = self._build_basis()
        self.overlaps = OverlapCache(self.path, config.basis, config.overlap_cache)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> Qh9Dataset:
        """Build from validated options (the context is not needed)."""
        return cls(config)  # type: ignore[arg-type]

    def _build_basis(self) -> OrbitalBasis:
        pairs: Sequence[tuple[str, Sequence[int] | np.ndarray]]
        if self.config.elements is not None:
            pairs = [("(option elements)", self.config.elements)]
        elif isinstance(self.source, SqliteSource):
            pairs = self.source.all_numbers()[: len(self)]
        else:
            pairs = [("(QH9 elements H, C, N, O, F)", QH9_ELEMENTS)]
        return scan_basis(self.config.basis, pairs, self.path)

    # ------------------------------------------------------------------ records
    def _numbers(self, position: int) -> np.ndarray:
        return self.source.numbers(position).astype(np.int64)

    def _all_numbers(self) -> list[np.ndarray]:
        if isinstance(self.source, SqliteSource):  # one query instead of one per record
            return [numbers.astype(np.int64) for _, numbers in self.source.all_numbers()[: len(self)]]
        return super()._all_numbers()

    def _read(self, position: int) -> HamiltonianRecord:
        raw = self.source.raw(position)
        return self.to_record(raw)

    def key_and_structure(self, index: int) -> tuple[str, Structure]:
        """Key and atoms of record ``index`` (negative allowed) without its matrices.

        Equal to ``(self[index].key, self[index].structure)`` for every record: the same
        checks of atomic numbers, atom count and positions, the same Bohr to Angstrom
        conversion, charge 0.

        Skipped: decoding ``Ham`` (:func:`hamkit_plugins.qh9.sources.decode_matrix`), its
        size/symmetry/finiteness checks, the reordering of H and S to the canonical order,
        and computing S with PySCF or loading it from the overlap cache. SQLite: the ``Ham``
        column is not even read. LMDB: each value is one pickle, which cannot be read in
        part, so the whole value (``Ham`` included) is still unpickled. A record whose
        *matrix* is damaged therefore passes here and fails only when read in full.

        Raises:
            IndexError: Out of range.
            RecordError: Bad atoms or positions (names file and record).
        """
        position = int(index)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"record {index} out of range ({len(self)} records in {self.path})")
        raw = self.source.structure(position)
        return str(raw.record_id), self._structure(raw)[0]

    def _structure(self, raw: RawStructure) -> tuple[Structure, np.ndarray, str]:
        """Checked atoms of a stored record: ``(structure in Angstrom, stored positions,
        their unit)``; the one code path of full and structure-only reads."""
        name = raw.name
        fix = ("list them in option 'elements'" if self.config.elements is not None
               or isinstance(self.source, LmdbSource) else "choose a basis that has them (option "
               "'basis')")
        numbers = check_numbers(raw.numbers, self.basis, self.path, name, fix)
        if raw.n_atoms is not None and raw.n_atoms != len(numbers):
            raise record_error(self.path, name, f"N = {raw.n_atoms} but Z holds {len(numbers)} atoms",
                               "the file is truncated or damaged")
        stored = check_positions(raw.positions, len(numbers), self.path, name)
        if self.variant == "dynamic":
            positions, unit = stored * bohr_in_angstrom(), "Bohr"
        else:
            positions, unit = stored, "Angstrom"
        return Structure(numbers, positions), stored, unit

    def to_record(self, raw: RawRecord) -> HamiltonianRecord:
        """Check one stored record and turn it into a canonical record (Angstrom, Hartree).

        Args:
            raw: The record as stored.

        Returns:
            The record; key = the ``id`` field.

        Raises:
            RecordError: Any inconsistency (names file and record, says what to do).
        """
        name = raw.name
        structure, stored, unit = self._structure(raw)
        numbers = structure.numbers
        n_orbitals = self.basis.total_orbitals(numbers)
        hamiltonian = check_matrix(raw.hamiltonian, n_orbitals, name="Ham", source=self.path,
                                   record=name, basis_name=self.basis.name)
        overlap = self.overlaps.overlap(numbers, stored, unit, n_orbitals)
        overlap = check_matrix(overlap, n_orbitals, name="recomputed overlap", source=self.path,
                               record=name, basis_name=self.basis.name)
        extras: dict[str, Any] = {"qh9_id": raw.record_id, **raw.extras}
        return HamiltonianRecord(
            structure=structure,
            hamiltonian=matrix_to_canonical(hamiltonian, numbers, self.basis, "pyscf"),
            overlap=matrix_to_canonical(overlap, numbers, self.basis, "pyscf"),
            key=str(raw.record_id),
            extras=extras,
        )

    # ------------------------------------------------------------------ info
    @property
    def provenance(self) -> dict[str, Any]:
        """Source file and what is known about how QH9 was labelled."""
        import pyscf

        return {
            "source": {"format": "qh9", "variant": self.variant, "layout": self.format_label,
                       "path": str(self.path)},
            "code": "pyscf",
            "xc": "b3lyp5",
            "basis": self.config.basis,
            "overlap": f"recomputed with PySCF {pyscf.__version__} int1e_ovlp",
        }

    def describe_notes(self) -> list[str]:
        """Units of the file and where the overlaps are cached."""
        notes = [f"positions in the file: {'Bohr' if self.variant == 'dynamic' else 'Angstrom'}; "
                 "records are returned in Angstrom",
                 f"overlap cache: {self.overlaps.folder or 'off'}"]
        if self.variant == "dynamic":
            notes.append("record.extras['geo_id'] groups the geometries of one molecule")
        return notes

    def close(self) -> None:
        """Close the file (re-opened on the next access)."""
        self.source.close()
