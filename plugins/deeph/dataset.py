"""The ``deeph`` dataset: a folder of processed DeepH folders (or one such folder).

Every record is in hamkit's canonical order and Hartree: blocks are reordered OpenMX ->
canonical (``p`` gather [1, 2, 0], ``d`` [2, 4, 0, 3, 1], ``f`` [6, 4, 2, 0, 1, 3, 5]) and
converted eV -> Hartree (1 Ha = 27.211386245988 eV). The basis comes from
``orbital_types.dat`` (every atom of an element must have the same shells, across all
folders). What a folder becomes depends on its keys:

* Only ``R = (0, 0, 0)`` blocks: a molecule record, H and S of shape (n, n);
  ``extras["lattice"]`` keeps lat.dat's vectors (as ROWS, Angstrom).
* Some ``R != (0, 0, 0)``: a periodic record (:mod:`hamkit.data.structure`):
  ``structure.cell`` = lat.dat's vectors as ROWS (Angstrom), ``structure.pbc[d]`` True
  where some key has ``R_d != 0`` (a 2D material with vacuum along a3 gives
  ``(True, True, False)``), ``translations`` (n_R, 3) = every R of both files, (0, 0, 0)
  first, then lexicographic; ``hamiltonian`` / ``overlap`` of shape (n_R, n, n), absent
  blocks zero.

Hermitian partners: block ``[R, i, j]`` and ``[-R, j, i]`` must be each other's transpose
(for R = 0: H and S symmetric), else a :class:`~hamkit.data.validation.RecordError` names
the folder, the file and both keys. A file that stores only one block of a pair (some
converters write half the hoppings) is completed with the transpose: exact for Hermitian
data, announced by a warning (folder, file, first key) and counted in
``extras["deeph_filled_blocks"]``. Spinful folders (``isspinful``) are refused.

Other extras: ``fermi_level`` (Hartree) when info.json has it; ``deeph_folder`` (the
folder name, also the key).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from hamkit.components import BuildContext, ComponentConfig
from hamkit.data.basis import OrbitalBasis
from hamkit.data.readers import FileDataset, existing_path
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.validation import MAX_ATOMIC_NUMBER, check_matrix, check_numbers, element_symbol, record_error
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit_plugins.deeph.folder import (
    HARTREE_EV,
    ORIGIN,
    BlockKey,
    FolderHeader,
    assemble,
    check_cell,
    check_partners,
    complete_partners,
    format_key,
    header_shells,
    partner_key,
    periodic_directions,
    read_blocks,
    read_header,
    read_structure,
    sorted_translations,
)


class DeepHConfig(ComponentConfig):
    """Options of the ``deeph`` dataset."""

    path: str = Field(description="A processed DeepH folder, or a folder of such folders.")
    limit: int | None = Field(None, ge=1, description="Use only the first N structures.")


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def find_folders(path: Path) -> list[Path]:
    """The DeepH folders under ``path``: itself if it holds element.dat, else its subfolders
    that do (natural order: 2 before 10).

    Raises:
        RecordError: None found.
    """
    if (path / "element.dat").is_file():
        return [path]
    folders = sorted((entry for entry in path.iterdir() if (entry / "element.dat").is_file()),
                     key=_natural_key) if path.is_dir() else []
    if not folders:
        raise record_error(path, None, "holds no processed DeepH folder (a folder with element.dat)",
                           "give a DeepH folder or the folder that contains them")
    return folders


def basis_name(shells: dict[int, tuple[int, ...]]) -> str:
    """Descriptive name of an orbital-types basis, e.g. ``"deeph(H:ssp C:sssppd)"``."""
    letters = "spdf"
    return "deeph(" + " ".join(f"{element_symbol(z)}:{''.join(letters[l] for l in ls)}"
                               for z, ls in sorted(shells.items())) + ")"


class DeepHDataset(FileDataset):
    """Processed DeepH folders (OpenMX order, eV): molecules, or periodic H(R) and S(R)."""

    name: ClassVar[str] = "deeph"
    Config: ClassVar[type[ComponentConfig]] = DeepHConfig
    format_label = "processed DeepH folders"

    def __init__(self, config: DeepHConfig) -> None:
        self.config = config
        self.path = existing_path(config.path, "a processed DeepH folder")
        self.folders = find_folders(self.path)
        self.limit = config.limit
        self.record_names = [folder.name for folder in self.folders]
        self.headers: list[FolderHeader] = [read_header(folder) for folder in self.folders[: len(self)]]
        self.basis: OrbitalBasis = self._build_basis()
        self._warned = False

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> DeepHDataset:
        """Build from validated options (the context is not needed)."""
        return cls(config)  # type: ignore[arg-type]

    def _build_basis(self) -> OrbitalBasis:
        shells: dict[int, tuple[int, ...]] = {}
        first: dict[int, Path] = {}
        for header in self.headers:
            for z, ls in header_shells(header).items():
                if not 1 <= z <= MAX_ATOMIC_NUMBER:
                    raise record_error(header.folder, None, f"element.dat holds {z}, not an element",
                                       "the file is damaged")
                if shells.setdefault(z, ls) != ls:
                    raise record_error(header.folder, None, f"{element_symbol(z)} has shells {list(ls)}, "
                                       f"but {list(shells[z])} in {first[z]}",
                                       "all structures of one dataset must use one basis")
                first.setdefault(z, header.folder)
        return OrbitalBasis.from_shells(shells, basis_name(shells))

    def _numbers(self, position: int) -> np.ndarray:
        return self.headers[position].numbers

    def _read(self, position: int) -> HamiltonianRecord:
        header = self.headers[position]
        folder, name = header.folder, self.record_names[position]
        numbers = check_numbers(header.numbers, self.basis, folder, name)
        positions, lattice = read_structure(folder, len(numbers))
        offsets = self.basis.atom_orbital_offsets(numbers)
        h_blocks, h_added = self._file_blocks(folder, "hamiltonians.h5", numbers)
        s_blocks, s_added = self._file_blocks(folder, "overlaps.h5", numbers)
        translations = sorted_translations(h_blocks, s_blocks)
        hamiltonian = matrix_to_canonical(assemble(h_blocks, translations, offsets), numbers, self.basis,
                                          "openmx") / HARTREE_EV
        overlap = matrix_to_canonical(assemble(s_blocks, translations, offsets), numbers, self.basis, "openmx")
        extras: dict[str, Any] = {"deeph_folder": name}
        if "fermi_level" in header.info:
            extras["fermi_level"] = float(header.info["fermi_level"]) / HARTREE_EV
        if h_added or s_added:
            extras["deeph_filled_blocks"] = len(h_added) + len(s_added)
        if translations == [ORIGIN]:
            extras["lattice"] = lattice
            return HamiltonianRecord(Structure(numbers, positions),
                                     self._molecular(hamiltonian[0], "H(R=0)", folder, name),
                                     self._molecular(overlap[0], "S(R=0)", folder, name),
                                     key=name, extras=extras)
        check_partners(hamiltonian, translations, offsets, folder=folder, file_name="hamiltonians.h5",
                       unit="Ha")
        check_partners(overlap, translations, offsets, folder=folder, file_name="overlaps.h5", unit="")
        structure = Structure(numbers, positions, cell=check_cell(folder, lattice),
                              pbc=periodic_directions(translations))
        return HamiltonianRecord(structure, hamiltonian, overlap, key=name, extras=extras,
                                 translations=np.asarray(translations, dtype=np.int64))

    def _file_blocks(
        self, folder: Path, file_name: str, numbers: np.ndarray
    ) -> tuple[dict[BlockKey, np.ndarray], list[BlockKey]]:
        """The blocks of one .h5 file with missing partners completed, and the keys added.

        Raises:
            RecordError: The file has no R = (0, 0, 0) block, or
                :func:`~hamkit_plugins.deeph.folder.read_blocks` refuses it.
        """
        blocks = read_blocks(folder, file_name, numbers, self.basis)
        if not any(translation == ORIGIN for translation, _, _ in blocks):
            raise record_error(folder, None, f"{file_name} has no R = (0, 0, 0) blocks",
                               "the file is damaged or empty")
        added = complete_partners(blocks)
        if added and not self._warned:
            self._warned = True
            warnings.warn(f"{folder}: {file_name} lacks the Hermitian partner of {len(added)} block(s) "
                          f"(first: {format_key(*added[0])}); filled with the transpose of "
                          f"{format_key(*partner_key(added[0]))}. Further folders are not reported.",
                          stacklevel=4)
        return blocks, added

    def _molecular(self, matrix: np.ndarray, label: str, folder: Path, name: str) -> np.ndarray:
        """A molecule's H or S (n, n), checked square, finite and symmetric."""
        return check_matrix(matrix, len(matrix), name=label, source=folder, record=name,
                            basis_name=self.basis.name)

    @property
    def provenance(self) -> dict[str, Any]:
        """Source folder and the labels' code (OpenMX, via DeepH preprocessing)."""
        return {"source": {"format": "deeph", "layout": self.format_label, "path": str(self.path)},
                "code": "openmx (DeepH preprocessing)", "basis": self.basis.name}

    def describe_notes(self) -> list[str]:
        """Conventions of the files."""
        return ["matrices in the files: OpenMX order, eV; returned in canonical order, Hartree",
                "folders with R != (0, 0, 0) keys give periodic records: cell = lat.dat columns, "
                "pbc where some R_d != 0, H(R) and S(R) for every R ((0, 0, 0) first, then "
                "lexicographic); folders with only R = (0, 0, 0) give molecules",
                "a block [R, i, j] whose partner [-R, j, i] is absent is filled with its transpose "
                "(a warning names the folder; extras['deeph_filled_blocks'] counts them); present "
                "partners must be each other's transpose"]
