"""Atom-pair blocks of an operator matrix, and a packed padding-free representation.

Block ``(i, j)`` of an (n, n) matrix holds the rows of atom ``i``'s orbitals and the columns
of atom ``j``'s, shape ``(n_i, n_j)``; ``i == j`` are on-site blocks. A block is further cut
into (shell a, shell b) sub-blocks of shape ``(2 l_a + 1, 2 l_b + 1)``.

The packed form concatenates the flattened (row-major) blocks of a list of pairs; it is
described by :class:`PackedBlockLayout`, whose ``flat_index`` gathers the packed values
directly from ``matrix.reshape(..., n * n)``, for numpy arrays and torch tensors alike.
For periodic structures the blocks come from a stack of real-space matrices H(R) of shape
(n_R, n, n): each block names the matrix it lives in (``matrix_index``) and ``flat_index``
points into ``matrices.reshape(..., n_R * n * n)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hamkit.data.basis import OrbitalBasis

Pair = tuple[int, int]


@dataclass(frozen=True)
class SubBlock:
    """One (shell a, shell b) sub-block of an atom-pair block.

    Attributes:
        shell_row: Index of shell ``a`` among the row atom's shells.
        shell_col: Index of shell ``b`` among the column atom's shells.
        l_row: Degree of shell ``a``.
        l_col: Degree of shell ``b``.
        rows: Slice of the block's rows, length ``2 l_row + 1``.
        cols: Slice of the block's columns, length ``2 l_col + 1``.
    """

    shell_row: int
    shell_col: int
    l_row: int
    l_col: int
    rows: slice
    cols: slice


def subblock_slices(z_row: int, z_col: int, basis: OrbitalBasis) -> list[SubBlock]:
    """All sub-blocks of a pair block between elements ``z_row`` and ``z_col``, row-shell major."""
    ls_row, ls_col = basis.shell_ls(z_row), basis.shell_ls(z_col)
    slices_row, slices_col = basis.shell_slices(z_row), basis.shell_slices(z_col)
    return [
        SubBlock(a, b, ls_row[a], ls_col[b], slices_row[a], slices_col[b])
        for a in range(len(ls_row))
        for b in range(len(ls_col))
    ]


def all_pairs(n_atoms: int, include_onsite: bool = True) -> list[Pair]:
    """Every ordered pair ``(i, j)``, row-major; on-site pairs optional."""
    return [(i, j) for i in range(n_atoms) for j in range(n_atoms) if include_onsite or i != j]


def matrix_to_blocks(
    matrix: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    pairs: Iterable[Pair] | None = None,
) -> dict[Pair, np.ndarray]:
    """Cut a matrix into atom-pair blocks.

    Args:
        matrix: Shape (..., n, n).
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        pairs: Pairs to extract; default all ordered pairs including on-site.

    Returns:
        ``{(i, j): block}`` with blocks of shape (..., n_i, n_j) (copies).
    """
    offsets = basis.atom_orbital_offsets(numbers)
    _check_matrix(matrix, int(offsets[-1]))
    if pairs is None:
        pairs = all_pairs(len(offsets) - 1)
    return {
        (i, j): np.array(matrix[..., offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]])
        for i, j in pairs
    }


def matrix_from_blocks(
    blocks: Mapping[Pair, np.ndarray],
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
) -> np.ndarray:
    """Assemble a matrix from atom-pair blocks; pairs not given stay zero.

    Args:
        blocks: ``{(i, j): block}`` with blocks of shape (..., n_i, n_j), one leading shape.
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.

    Returns:
        Array of shape (..., n, n); exact inverse of :func:`matrix_to_blocks` when every
        pair is given.
    """
    offsets = basis.atom_orbital_offsets(numbers)
    n = int(offsets[-1])
    if not blocks:
        return np.zeros((n, n))
    first = next(iter(blocks.values()))
    lead = np.shape(first)[:-2]
    matrix = np.zeros(lead + (n, n), dtype=np.result_type(*blocks.values()))
    for (i, j), block in blocks.items():
        expected = lead + (offsets[i + 1] - offsets[i], offsets[j + 1] - offsets[j])
        if np.shape(block) != expected:
            raise ValueError(f"block {(i, j)} has shape {np.shape(block)}, expected {expected}")
        matrix[..., offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = block
    return matrix


@dataclass(frozen=True)
class PackedBlockLayout:
    """Where each pair block lives in a packed flat vector.

    Attributes:
        pairs: (n_pairs, 2) int64 atom indices ``(i, j)``.
        shapes: (n_pairs, 2) int64 block shapes ``(n_i, n_j)``.
        offsets: (n_pairs + 1,) int64; block ``p`` is ``packed[..., offsets[p]:offsets[p+1]]``,
            flattened row-major.
        flat_index: (offsets[-1],) int64 positions in ``matrix.reshape(..., n * n)``, or in
            ``matrices.reshape(..., n_matrices * n * n)`` for a periodic layout.
        n_orbitals: Matrix size ``n``.
        n_matrices: Number of real-space matrices H(R) the blocks come from; None for one
            molecular matrix.
    """

    pairs: np.ndarray
    shapes: np.ndarray
    offsets: np.ndarray
    flat_index: np.ndarray
    n_orbitals: int
    n_matrices: int | None = None

    @classmethod
    def build(
        cls,
        numbers: Sequence[int] | np.ndarray,
        basis: OrbitalBasis,
        pairs: Iterable[Pair] | None = None,
        matrix_index: Sequence[int] | np.ndarray | None = None,
        n_matrices: int | None = None,
    ) -> PackedBlockLayout:
        """Layout for a structure and a list of pairs (default: all, on-site included).

        Args:
            numbers: Atomic numbers, shape (n_atoms,).
            basis: Shells per element.
            pairs: Blocks ``(i, j)`` in packed order.
            matrix_index: Periodic only: for each block, which of the ``n_matrices``
                real-space matrices it lives in, shape (n_blocks,).
            n_matrices: Periodic only: size of the matrix stack.
        """
        atom_offsets = basis.atom_orbital_offsets(numbers)
        n = int(atom_offsets[-1])
        pair_list = list(all_pairs(len(atom_offsets) - 1) if pairs is None else pairs)
        if (matrix_index is None) != (n_matrices is None):
            raise ValueError("matrix_index and n_matrices go together (periodic layouts)")
        matrices = np.zeros(len(pair_list), np.int64) if matrix_index is None else np.asarray(matrix_index)
        if len(matrices) != len(pair_list):
            raise ValueError(f"{len(matrices)} matrix indices for {len(pair_list)} blocks")
        shapes, indices = [], []
        for (i, j), matrix in zip(pair_list, matrices.tolist()):
            rows = np.arange(atom_offsets[i], atom_offsets[i + 1])
            cols = np.arange(atom_offsets[j], atom_offsets[j + 1])
            shapes.append((rows.size, cols.size))
            indices.append((matrix * n * n + rows[:, None] * n + cols[None, :]).ravel())
        sizes = [a * b for a, b in shapes]
        return cls(
            pairs=np.asarray(pair_list, dtype=np.int64).reshape(-1, 2),
            shapes=np.asarray(shapes, dtype=np.int64).reshape(-1, 2),
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            flat_index=np.concatenate(indices).astype(np.int64) if indices else np.zeros(0, np.int64),
            n_orbitals=n,
            n_matrices=n_matrices,
        )

    @property
    def matrix_shape(self) -> tuple[int, ...]:
        """Shape of what the blocks are cut from: (n, n), or (n_matrices, n, n) when periodic."""
        n = self.n_orbitals
        return (n, n) if self.n_matrices is None else (self.n_matrices, n, n)

    def block(self, packed: np.ndarray, pair_position: int) -> np.ndarray:
        """Block number ``pair_position`` of a packed vector (..., total) as (..., n_i, n_j)."""
        start, stop = self.offsets[pair_position], self.offsets[pair_position + 1]
        return packed[..., start:stop].reshape(packed.shape[:-1] + tuple(self.shapes[pair_position]))


def pack_blocks(matrix: np.ndarray, layout: PackedBlockLayout) -> np.ndarray:
    """Matrix (..., n, n) (periodic: (..., n_matrices, n, n)) to packed values
    (..., layout.offsets[-1]); numpy or torch."""
    shape = layout.matrix_shape
    _check_matrix(matrix, layout.n_orbitals)
    if tuple(matrix.shape[-len(shape):]) != shape:
        raise ValueError(f"matrices of shape {tuple(matrix.shape)} do not match the layout's {shape}")
    flat = matrix.reshape(tuple(matrix.shape[:-len(shape)]) + (int(np.prod(shape)),))
    if isinstance(flat, np.ndarray):
        return flat[..., layout.flat_index]
    import torch

    return flat[..., torch.as_tensor(layout.flat_index, device=flat.device)]


def unpack_blocks(packed: np.ndarray, layout: PackedBlockLayout) -> np.ndarray:
    """Packed values (..., total) back to a matrix (..., n, n) (periodic: (..., n_matrices, n, n));
    entries of absent pairs are 0.

    Exact inverse of :func:`pack_blocks` when the layout covers every pair. numpy only.
    """
    shape = layout.matrix_shape
    packed = np.asarray(packed)
    flat = np.zeros(packed.shape[:-1] + (int(np.prod(shape)),), dtype=packed.dtype)
    flat[..., layout.flat_index] = packed
    return flat.reshape(packed.shape[:-1] + shape)


def onsite_mask(numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis) -> np.ndarray:
    """Boolean (n, n) mask, True on the on-site (i == i) blocks."""
    offsets = basis.atom_orbital_offsets(numbers)
    atom_of_orbital = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return atom_of_orbital[:, None] == atom_of_orbital[None, :]


def _check_matrix(matrix: np.ndarray, n: int) -> None:
    shape = tuple(matrix.shape)
    if len(shape) < 2 or shape[-2:] != (n, n):
        raise ValueError(f"matrix of shape {shape} does not match the {n} orbitals of the structure")
