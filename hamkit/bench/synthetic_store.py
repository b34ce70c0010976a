"""Synthetic hamkit stores for data-pipeline benchmarks and tests (no SCF).

A synthetic store is written through :class:`~hamkit.data.store.StoreWriter`, so it is a
real store that every reader check passes, but its labels are random: they exercise the
data path (reading, checking, graph building, batching) at any scale, not learning.

Every record is a small molecule of H, C, N and O (:data:`SIZE_RANGE` atoms) grown atom by
atom: each new atom sits :data:`BOND_RANGE` from a random earlier one and no closer than
:data:`MIN_SEPARATION` to any. Its labels are

* ``H`` (n, n): symmetric; a per-element, per-orbital diagonal (core orbitals deep,
  valence shallow, so the on-site baseline has something to learn) plus small symmetric noise;
* ``S`` (n, n): ``I + E`` with ``E`` symmetric, zero diagonal and row sums of ``|E|`` below
  :data:`OVERLAP_SPREAD` < 1, so S is positive definite (Gershgorin) with a unit diagonal.

Record ``i`` is a pure function of ``(seed, i)``: an interrupted write resumes with the
records it lacks and gives the file an uninterrupted write would have given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreHeader, StoreReader, StoreWriter
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError

ELEMENTS = (1, 6, 7, 8)
"""H, C, N, O: the elements of QM9 and (without F) QH9."""

PARITY_SWAP = {1: 6, 6: 7, 7: 6, 8: 7}
"""An element of the other electron parity for each of :data:`ELEMENTS`."""

SIZE_RANGE = (3, 9)
"""Smallest and largest atom count of a synthetic molecule (inclusive)."""

BOND_RANGE = (1.0, 1.6)
"""Angstrom: distance of a new atom from the atom it grows from."""

MIN_SEPARATION = 0.9
"""Angstrom: no two atoms of a synthetic molecule are closer."""

OVERLAP_SPREAD = 0.5
"""Largest row sum of ``|S - I|``; below 1 keeps S positive definite."""

HAMILTONIAN_NOISE = 0.05
"""Hartree: scale of the random symmetric part of H."""

DEFAULT_BASIS = "sto-3g"
"""Basis of the synthetic labels (H: 1 orbital, C/N/O: 5): small records, fast writes."""


def record_key(index: int) -> str:
    """Store key of synthetic record ``index`` (sorts in index order)."""
    return f"mol{index:07d}"


def _record_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def synthetic_molecule(rng: np.random.Generator, size_range: tuple[int, int] = SIZE_RANGE) -> Structure:
    """A random but sane small molecule.

    Args:
        rng: Random source.
        size_range: Smallest and largest number of atoms (inclusive).

    Returns:
        A neutral closed-shell molecule (even electron count); numbers (n,) from
        :data:`ELEMENTS` (a heavy atom first), positions (n, 3) in Angstrom, every pair at
        least :data:`MIN_SEPARATION` apart.
    """
    n_atoms = int(rng.integers(size_range[0], size_range[1] + 1))
    numbers = np.concatenate([[rng.choice(ELEMENTS[1:])], rng.choice(ELEMENTS, size=n_atoms - 1)])
    if numbers.sum() % 2:  # closed shell: an even electron count
        numbers[-1] = PARITY_SWAP[int(numbers[-1])]
    positions = np.zeros((n_atoms, 3))
    for atom in range(1, n_atoms):
        positions[atom] = _place_atom(rng, positions[:atom])
    return Structure(numbers.astype(np.int64), positions)


def _place_atom(rng: np.random.Generator, placed: np.ndarray) -> np.ndarray:
    """A position (3,) bonded to a random atom of ``placed`` (m, 3), clear of all of them."""
    while True:
        direction = rng.normal(size=3)
        candidate = placed[rng.integers(len(placed))] + rng.uniform(*BOND_RANGE) * direction / np.linalg.norm(direction)
        if np.min(np.linalg.norm(placed - candidate, axis=1)) >= MIN_SEPARATION:
            return candidate


def _orbital_levels(numbers: np.ndarray, basis: OrbitalBasis) -> np.ndarray:
    """Diagonal of H (n_orbitals,): per element, deeper for lower shells and heavier atoms."""
    levels = []
    for z in numbers.tolist():
        for shell, l in enumerate(basis.shell_ls(z)):
            levels += [-0.5 * z / (1 + shell) ** 2 + 0.1 * l] * (2 * l + 1)
    return np.asarray(levels)


def _symmetric_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """A symmetric (n, n) matrix of standard normal entries."""
    noise = rng.normal(size=(n, n))
    return (noise + noise.T) / 2


def synthetic_labels(rng: np.random.Generator, numbers: np.ndarray,
                     basis: OrbitalBasis) -> tuple[np.ndarray, np.ndarray]:
    """Random H and S of a molecule that pass the store's record checks.

    Args:
        rng: Random source.
        numbers: Atomic numbers (n_atoms,).
        basis: The orbital basis.

    Returns:
        ``(H, S)``, each (n_orbitals, n_orbitals) float64, symmetric; S positive definite
        with a unit diagonal.
    """
    hamiltonian = np.diag(_orbital_levels(numbers, basis)) + HAMILTONIAN_NOISE * _symmetric_noise(
        rng, basis.total_orbitals(numbers))
    coupling = np.abs(_symmetric_noise(rng, len(hamiltonian)))
    np.fill_diagonal(coupling, 0.0)
    largest_row = max(float(coupling.sum(axis=1).max()), 1e-12)
    overlap = np.eye(len(hamiltonian)) + OVERLAP_SPREAD * 0.99 * coupling / largest_row
    return hamiltonian, overlap


def synthetic_record(seed: int, index: int, basis: OrbitalBasis) -> HamiltonianRecord:
    """Record ``index`` of the synthetic store of ``seed`` (a pure function of both)."""
    rng = _record_rng(seed, index)
    structure = synthetic_molecule(rng)
    hamiltonian, overlap = synthetic_labels(rng, structure.numbers, basis)
    return HamiltonianRecord(structure, hamiltonian, overlap, record_key(index))


def synthetic_header(basis: OrbitalBasis, seed: int) -> StoreHeader:
    """Header of a synthetic store: its basis and a provenance that says the labels are random."""
    return StoreHeader(basis=basis, provenance={"code": "hamkit.bench.synthetic_store", "seed": seed,
                                                "labels": "random (not DFT): for data-pipeline benchmarks"})


def stored_count(path: Path) -> int:
    """Complete records of an existing store (0 when the file does not exist)."""
    if not path.exists():
        return 0
    with StoreReader(path) as store:
        return len(store)


def write_synthetic_store(path: str | os.PathLike[str], n_structures: int, *, seed: int = 0,
                          basis: OrbitalBasis | None = None, compression: str | None = "gzip",
                          progress: Callable[[int, int], None] | None = None) -> Path:
    """Write (or complete) a synthetic store of ``n_structures`` records.

    An existing file with at least ``n_structures`` records is left alone; one with fewer
    (an interrupted write) gets the missing ones appended.

    Args:
        path: The ``.h5`` file.
        n_structures: Records wanted.
        seed: Seed of the whole store (record ``i`` is seeded by ``(seed, i)``).
        basis: Orbital basis (default :data:`DEFAULT_BASIS` for :data:`ELEMENTS`, from PySCF).
        compression: Matrix compression of the writer (``"gzip"`` as real stores, or None).
        progress: Called as ``progress(written, n_structures)`` every 1000 records.

    Returns:
        The path.

    Raises:
        HamkitError: ``n_structures`` < 1, or an existing file that is not a store.
    """
    if n_structures < 1:
        raise HamkitError(f"a synthetic store needs at least 1 structure, got {n_structures}")
    path = Path(path)
    if stored_count(path) >= n_structures:
        return path
    basis = basis or OrbitalBasis.from_name(DEFAULT_BASIS, ELEMENTS)
    with StoreWriter(path, None if path.exists() else synthetic_header(basis, seed),
                     compression=compression) as writer:
        _append_missing(writer, range(n_structures), seed, writer.header.basis, progress)
    return path


def _append_missing(writer: StoreWriter, indices: Sequence[int], seed: int, basis: OrbitalBasis,
                    progress: Callable[[int, int], None] | None) -> None:
    """Write the records of ``indices`` the store lacks, in order."""
    for index in indices:
        if record_key(index) not in writer:
            writer.write(synthetic_record(seed, index, basis))
        if progress is not None and (index + 1) % 1000 == 0:
            progress(index + 1, len(indices))
