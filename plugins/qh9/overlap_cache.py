"""Overlap matrices for QH9 records: recomputed with PySCF, cached on disk.

QH9 files store no overlap. ``S`` depends only on the atoms, their coordinates and the
basis, so hamkit recomputes it with PySCF (``mol.intor("int1e_ovlp")``, ~10 ms for a QH9
molecule, mostly building the molecule) and caches the result, so that the second read
of a record costs one small file read.

Cache design:

* **Where** (option ``overlap_cache``): ``"user"`` (default) puts the files under
  ``$HAMKIT_CACHE/overlaps/<file name>-<file hash>/`` (``$HAMKIT_CACHE`` defaults to
  ``~/.cache/hamkit``); ``"beside"`` puts them in ``<file>.hamkit-overlaps/`` next to the
  data; ``"off"`` recomputes every time. The file hash is SHA-256 of the data file's size
  and its first and last MiB (cheap for multi-GB files); it only groups the entries of one
  file so they can be deleted together.
* **Key** (what guarantees correctness): SHA-256 of a format tag, the PySCF version, the
  basis name, the coordinate unit, the atomic numbers (int64) and the exact coordinates
  (float64) handed to PySCF. A changed record, basis or PySCF version therefore never hits a
  stale entry.
* **Entry**: ``<key[:2]>/<key>.npy``, the upper triangle (row-major, ``n (n+1) / 2``
  float64 values) of ``S`` in PySCF order; half the size of the full matrix, about as
  large as the Hamiltonians the file already holds. Entries are written to a temporary
  file and renamed, so concurrent data-loader workers never see a half-written entry. An
  unreadable or wrongly sized entry is recomputed and replaced. If the cache folder cannot
  be written, a warning is issued once and the overlaps are recomputed on every read.
"""

from __future__ import annotations

import hashlib
import os
import uuid
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

CacheMode = Literal["user", "beside", "off"]
CACHE_VARIABLE = "HAMKIT_CACHE"
FORMAT_TAG = b"hamkit-overlap-v1"
_FINGERPRINT_BYTES = 1 << 20


def cache_root() -> Path:
    """``$HAMKIT_CACHE`` or ``~/.cache/hamkit``."""
    return Path(os.environ.get(CACHE_VARIABLE) or "~/.cache/hamkit").expanduser()


def file_fingerprint(path: Path) -> str:
    """SHA-256 (hex) of a file's size and first and last MiB; an LMDB folder uses data.mdb."""
    if path.is_dir():
        path = path / "data.mdb"
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(_FINGERPRINT_BYTES))
        if size > _FINGERPRINT_BYTES:
            handle.seek(max(_FINGERPRINT_BYTES, size - _FINGERPRINT_BYTES))
            digest.update(handle.read(_FINGERPRINT_BYTES))
    return digest.hexdigest()


def compute_overlap(numbers: np.ndarray, coordinates: np.ndarray, unit: str, basis_name: str) -> np.ndarray:
    """Overlap matrix with PySCF, PySCF orbital order.

    Args:
        numbers: Atomic numbers, shape (n_atoms,).
        coordinates: Positions, shape (n_atoms, 3), in ``unit``.
        unit: ``"Angstrom"`` or ``"Bohr"``.
        basis_name: PySCF basis name.

    Returns:
        S, shape (n_orbitals, n_orbitals).
    """
    from pyscf import gto

    atoms = [(int(z), tuple(float(x) for x in xyz)) for z, xyz in zip(numbers, coordinates)]
    molecule = gto.M(atom=atoms, unit=unit, basis=basis_name, spin=int(np.sum(numbers)) % 2,
                     cart=False, verbose=0)
    return molecule.intor("int1e_ovlp")


def record_key(numbers: np.ndarray, coordinates: np.ndarray, unit: str, basis_name: str) -> str:
    """Cache key of one overlap (see the module docstring)."""
    import pyscf

    digest = hashlib.sha256(FORMAT_TAG)
    for text in (pyscf.__version__, basis_name.lower(), unit.lower()):
        digest.update(text.encode() + b"\0")
    digest.update(np.ascontiguousarray(numbers, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(coordinates, dtype=np.float64).tobytes())
    return digest.hexdigest()


def pack_upper(matrix: np.ndarray) -> np.ndarray:
    """Upper triangle of a symmetric (n, n) matrix, row-major, shape (n (n+1) / 2,)."""
    return matrix[np.triu_indices(matrix.shape[0])]


def unpack_upper(packed: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_upper`: the symmetric (n, n) matrix."""
    rows, cols = np.triu_indices(n)
    matrix = np.empty((n, n), dtype=np.float64)
    matrix[rows, cols] = packed
    matrix[cols, rows] = packed
    return matrix


class OverlapCache:
    """Overlaps of the records of one data file, computed once and kept on disk.

    Args:
        source: The data file (or LMDB folder).
        basis_name: PySCF basis name.
        mode: ``"user"``, ``"beside"`` or ``"off"`` (see the module docstring).

    Attributes:
        hits: Overlaps read from the cache in this process.
        misses: Overlaps computed with PySCF in this process.
    """

    def __init__(self, source: Path, basis_name: str, mode: CacheMode = "user") -> None:
        self.source = source
        self.basis_name = basis_name
        self.mode = mode
        self.hits = 0
        self.misses = 0
        self._folder: Path | None = None
        self._writable = mode != "off"

    @property
    def folder(self) -> Path | None:
        """The cache folder of this data file (None when caching is off)."""
        if self.mode == "off":
            return None
        if self._folder is None:
            if self.mode == "beside":
                self._folder = self.source.parent / f"{self.source.name}.hamkit-overlaps"
            else:
                fingerprint = file_fingerprint(self.source)[:16]
                self._folder = cache_root() / "overlaps" / f"{self.source.name}-{fingerprint}"
        return self._folder

    def overlap(self, numbers: np.ndarray, coordinates: np.ndarray, unit: str, n_orbitals: int) -> np.ndarray:
        """S of one structure in PySCF order, from the cache or computed (and stored).

        Args:
            numbers: Atomic numbers, shape (n_atoms,).
            coordinates: Positions handed to PySCF, shape (n_atoms, 3), in ``unit``.
            unit: ``"Angstrom"`` or ``"Bohr"``.
            n_orbitals: Expected size (the dataset basis's orbital count).

        Returns:
            S, shape (n_orbitals, n_orbitals), float64, exactly symmetric (its upper triangle
            mirrored; PySCF's lower triangle can differ from it by one rounding).
        """
        folder = self.folder
        entry = None
        if folder is not None:
            key = record_key(numbers, coordinates, unit, self.basis_name)
            entry = folder / key[:2] / f"{key}.npy"
            cached = self._load(entry, n_orbitals)
            if cached is not None:
                self.hits += 1
                return cached
        overlap = compute_overlap(numbers, coordinates, unit, self.basis_name)
        self.misses += 1
        if overlap.shape != (n_orbitals, n_orbitals):
            return overlap  # the caller reports the size mismatch
        packed = pack_upper(overlap)
        if entry is not None and self._writable:
            self._store(entry, packed)
        return unpack_upper(packed, n_orbitals)  # exactly symmetric, equal to a cached read

    @staticmethod
    def _load(entry: Path, n_orbitals: int) -> np.ndarray | None:
        try:
            packed = np.load(entry, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if packed.dtype != np.float64 or packed.shape != (n_orbitals * (n_orbitals + 1) // 2,):
            return None
        return unpack_upper(packed, n_orbitals)

    def _store(self, entry: Path, packed: np.ndarray) -> None:
        temporary = entry.with_name(f".{entry.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                np.save(handle, packed, allow_pickle=False)
            os.replace(temporary, entry)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            self._writable = False
            warnings.warn(f"cannot write the overlap cache {self.folder} ({error}): overlaps of "
                          f"{self.source} are recomputed on every read (set {CACHE_VARIABLE} "
                          "to a writable folder, or overlap_cache: off)", stacklevel=3)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["hits"] = state["misses"] = 0
        return state
