"""The ``deeph`` dataset: a folder of processed DeepH folders (or one such folder).

For now hamkit handles molecules (non-periodic structures): each record's H and S are the
``R = (0, 0, 0)`` blocks assembled into full matrices, reordered OpenMX -> canonical
(``p`` gather [1, 2, 0], ``d`` [2, 4, 0, 3, 1], ``f`` [6, 4, 2, 0, 1, 3, 5]) and converted
eV -> Hartree (1 Ha = 27.211386245988 eV). The basis comes from ``orbital_types.dat``
(every atom of an element must have the same shells, across all folders).

Hoppings to neighbouring cells (``R != 0``) are not dropped: they are kept, in canonical
order and Hartree, in ``record.extras``:

* ``hopping_vectors``: int64 (n_R, 3), the lattice translations R (units of the lattice);
* ``hopping_hamiltonian``: float64 (n_R, n, n), H(R) (absent blocks zero);
* ``hopping_overlap``: float64 (n_R, n, n), S(R).

A warning says when a record has them: ``record.hamiltonian`` is then H(0) only, which is
not the Hamiltonian of a crystal. Periodic support (H(k) = sum_R e^{ikR} H(R)) arrives with
the periodic issue. Other extras: ``lattice`` (3, 3), vectors as ROWS, Angstrom;
``fermi_level`` (Hartree) when info.json has it; ``deeph_folder`` (the folder name, also the key).
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
from hamkit.data.validation import check_matrix, check_numbers, element_symbol, record_error
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit_plugins.deeph.folder import (
    HARTREE_EV,
    FolderHeader,
    header_shells,
    read_blocks,
    read_header,
    read_structure,
)

ORIGIN = (0, 0, 0)


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
    """Processed DeepH folders (OpenMX order, eV): R = 0 blocks as molecular H and S."""

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
                if not 1 <= z <= 118:
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
        hamiltonians = read_blocks(folder, "hamiltonians.h5", numbers, self.basis)
        overlaps = read_blocks(folder, "overlaps.h5", numbers, self.basis)
        n = self.basis.total_orbitals(numbers)

        def canonical(matrix: np.ndarray | None, scale: float) -> np.ndarray:
            if matrix is None:
                return np.zeros((n, n))
            return matrix_to_canonical(matrix, numbers, self.basis, "openmx") / scale

        for file_name, matrices in (("hamiltonians.h5", hamiltonians), ("overlaps.h5", overlaps)):
            if ORIGIN not in matrices:
                raise record_error(folder, None, f"{file_name} has no R = (0, 0, 0) blocks",
                                   "the file is damaged or empty")
        hamiltonian = check_matrix(canonical(hamiltonians[ORIGIN], HARTREE_EV), n, name="H(R=0)",
                                   source=folder, record=name, basis_name=self.basis.name)
        overlap = check_matrix(canonical(overlaps[ORIGIN], 1.0), n, name="S(R=0)", source=folder,
                               record=name, basis_name=self.basis.name)
        extras: dict[str, Any] = {"deeph_folder": name, "lattice": lattice}
        if "fermi_level" in header.info:
            extras["fermi_level"] = float(header.info["fermi_level"]) / HARTREE_EV
        translations = sorted((set(hamiltonians) | set(overlaps)) - {ORIGIN})
        if translations:
            self._warn_periodic(folder)
            extras["hopping_vectors"] = np.asarray(translations, dtype=np.int64)
            extras["hopping_hamiltonian"] = np.stack(
                [canonical(hamiltonians.get(r), HARTREE_EV) for r in translations])
            extras["hopping_overlap"] = np.stack([canonical(overlaps.get(r), 1.0) for r in translations])
        return HamiltonianRecord(Structure(numbers, positions), hamiltonian, overlap, key=name,
                                 extras=extras)

    def _warn_periodic(self, folder: Path) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(f"{folder}: has hoppings to neighbouring cells (R != 0): record.hamiltonian "
                          "holds only the R = (0, 0, 0) blocks; the others are in record.extras"
                          "['hopping_*']. Periodic support arrives with the periodic issue.",
                          stacklevel=3)

    @property
    def provenance(self) -> dict[str, Any]:
        """Source folder and the labels' code (OpenMX, via DeepH preprocessing)."""
        return {"source": {"format": "deeph", "layout": self.format_label, "path": str(self.path)},
                "code": "openmx (DeepH preprocessing)", "basis": self.basis.name}

    def describe_notes(self) -> list[str]:
        """Conventions of the files."""
        return ["matrices in the files: OpenMX order, eV; returned in canonical order, Hartree",
                "records hold the R = (0, 0, 0) blocks; R != 0 hoppings are in extras['hopping_*']"]
