"""From Bloch matrices on a k-mesh to real-space matrices H(R): the lattice Fourier sum.

``F(R) = (1/N_k) sum_k exp(-2 pi i k.R) H(k)`` is the matrix of the Born-von-Karman (BvK)
supercell, the sum of H(R + N L) over supercell vectors L. Each atom pair's block of a BvK
class R goes to the lattice vector(s) R' = R + N L that minimise |tau_j + R' @ cell - tau_i|
(Wigner-Seitz, minimum image); an m-fold tie shares it with weight 1/m. The imaginary part
must vanish (time-reversal symmetry of the mesh) and M(-R) = M(R)^T is imposed exactly.
Used by :mod:`hamkit.labelling.pbc_labels`.
"""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure, translation_key

TIE_TOLERANCE_ANGSTROM = 1e-6
"""Image distances within this of the shortest count as ties (Angstrom)."""
SUPERCELL_SEARCH = 2
"""Supercell vectors L are searched in [-2, 2] along each periodic axis."""


def orbital_atoms(numbers: np.ndarray, basis: OrbitalBasis) -> list[slice]:
    """Orbital slice of each atom in the canonical order (atom-major), length n_atoms."""
    offsets = basis.atom_orbital_offsets(numbers)
    return [slice(int(start), int(stop)) for start, stop in zip(offsets[:-1], offsets[1:])]


def minimum_images(cell: np.ndarray, positions: np.ndarray, kmesh: tuple[int, int, int],
                   bvk_class: np.ndarray, pbc: tuple[bool, bool, bool]
                   ) -> dict[tuple[int, int], list[tuple[tuple[int, int, int], float]]]:
    """Wigner-Seitz images of one BvK class for every atom pair, with their weights.

    Args:
        cell: Lattice vectors as rows, (3, 3), Angstrom.
        positions: Atom positions, (n_atoms, 3), Angstrom.
        kmesh: The k-mesh (= BvK supercell size in cells).
        bvk_class: Integer translation R of the class, (3,), with 0 <= R < kmesh.
        pbc: Periodic axes; supercell vectors are searched only along those.

    Returns:
        ``{(i, j): [(R', weight), ...]}``: the lattice translations R' = R + kmesh * L with
        the shortest |tau_j + R' @ cell - tau_i|, each with weight 1/m for an m-fold tie.
    """
    axes = [range(-SUPERCELL_SEARCH, SUPERCELL_SEARCH + 1) if periodic else range(1)
            for periodic in pbc]
    shifts = np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T
    candidates = np.asarray(bvk_class)[None, :] + shifts * np.asarray(kmesh)[None, :]
    vectors = candidates @ cell
    result: dict[tuple[int, int], list[tuple[tuple[int, int, int], float]]] = {}
    for i, tau_i in enumerate(positions):
        for j, tau_j in enumerate(positions):
            distances = np.linalg.norm(tau_j + vectors - tau_i, axis=1)
            best = np.flatnonzero(distances <= distances.min() + TIE_TOLERANCE_ANGSTROM)
            result[(i, j)] = [(translation_key(candidates[b]), 1.0 / len(best)) for b in best]
    return result


def bvk_matrices(matrices_k: np.ndarray, kpoints: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """F(R) = (1/N_k) sum_k exp(-2 pi i k.R) M(k) for each BvK class R.

    Args:
        matrices_k: (n_k, n, n) Bloch matrices on the mesh.
        kpoints: (n_k, 3) reduced mesh points.
        classes: (n_classes, 3) integer translations.

    Returns:
        (n_classes, n, n) complex128.
    """
    phases = np.exp(-2j * np.pi * np.asarray(classes, dtype=np.float64) @ np.asarray(kpoints).T)
    return np.einsum("rk,kmn->rmn", phases, matrices_k) / len(kpoints)


def real_space_matrices(
    matrices_k: list[np.ndarray],
    kpoints: np.ndarray,
    structure: Structure,
    kmesh: tuple[int, int, int],
    atom_slices: list[slice],
    *,
    max_distance: float,
    imag_tolerance: float,
    names: tuple[str, ...] = ("hamiltonian", "overlap"),
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Real-space matrices from Bloch matrices on a full Gamma-centred mesh.

    Args:
        matrices_k: Each (n_k, n, n) complex Bloch matrices (same mesh), canonical order.
        kpoints: (n_k, 3) reduced mesh points (``monkhorst_pack(kmesh)``).
        structure: The structure (cell, positions, pbc).
        kmesh: The mesh.
        atom_slices: Orbital slice of each atom (:func:`orbital_atoms`).
        max_distance: Keep translations with an atom pair closer than this, Angstrom.
        imag_tolerance: Largest acceptable |Im F(R)| (Hartree for H).
        names: Names of the matrices, for messages.

    Returns:
        ``(translations (n_R, 3) int64 sorted, [M(R) (n_R, n, n) float64, ...])`` with
        M(-R) = M(R)^T exactly.

    Raises:
        ValueError: The BvK matrices have an imaginary part above ``imag_tolerance``.
    """
    cell = np.asarray(structure.cell)
    classes = np.array(np.meshgrid(*[np.arange(n) for n in kmesh], indexing="ij")).reshape(3, -1).T
    folded = []
    for name, matrices in zip(names, matrices_k):
        bvk = bvk_matrices(np.asarray(matrices), kpoints, classes)
        imaginary = float(np.abs(bvk.imag).max())
        if imaginary > imag_tolerance:
            raise ValueError(f"{name}(R) has an imaginary part of {imaginary:.2e} "
                             f"(> {imag_tolerance:.0e}): H(-k) != conj(H(k)) on the k-mesh (a too coarse "
                             "FFT mesh, i.e. ke_cutoff, or an SCF that broke time-reversal symmetry)")
        folded.append(bvk.real)
    n = folded[0].shape[-1]
    accumulated: dict[tuple[int, int, int], list[np.ndarray]] = {}
    for c, bvk_class in enumerate(classes):
        images = minimum_images(cell, structure.positions, kmesh, bvk_class, structure.pbc)
        for (i, j), targets in images.items():
            for target, weight in targets:
                blocks = accumulated.setdefault(target, [np.zeros((n, n)) for _ in folded])
                for block, source in zip(blocks, folded):
                    block[atom_slices[i], atom_slices[j]] += weight * source[c][atom_slices[i], atom_slices[j]]
    kept = sorted(r for r in accumulated if _closest_pair(cell, structure.positions, r) < max_distance)
    kept = sorted(set(kept) | {(-r[0], -r[1], -r[2]) for r in kept})
    translations = np.array(kept, dtype=np.int64).reshape(-1, 3)
    results = []
    for index in range(len(folded)):
        stack = np.array([accumulated[r][index] if r in accumulated else np.zeros((n, n)) for r in kept])
        results.append(symmetrize_pairs(translations, stack))
    return translations, results


def _closest_pair(cell: np.ndarray, positions: np.ndarray, translation: tuple[int, int, int]) -> float:
    """Shortest |tau_j + R @ cell - tau_i| over all atom pairs, Angstrom."""
    shifted = positions + np.asarray(translation, dtype=np.float64) @ cell
    return float(np.linalg.norm(shifted[None, :, :] - positions[:, None, :], axis=-1).min())


def symmetrize_pairs(translations: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Impose M(-R) = M(R)^T exactly: M(R) <- (M(R) + M(-R)^T) / 2.

    Args:
        translations: (n_R, 3) integer translations, closed under R -> -R.
        matrices: (n_R, n, n) real matrices.

    Returns:
        (n_R, n, n) symmetrized copy.

    Raises:
        ValueError: A translation whose negative is missing.
    """
    lookup = {tuple(int(v) for v in row): r for r, row in enumerate(translations)}
    partner = []
    for row in translations:
        negative = tuple(-int(v) for v in row)
        if negative not in lookup:
            raise ValueError(f"translation {tuple(int(v) for v in row)} has no partner {negative}")
        partner.append(lookup[negative])
    matrices = np.asarray(matrices, dtype=np.float64)
    return 0.5 * (matrices + np.swapaxes(matrices[partner], 1, 2))
