"""Rotation-invariant trace labels of atom-pair blocks (the TraceGrad "Trace").

For every atom pair ``(i, j)`` (on-site included) and every (shell a, shell b) sub-block
``B`` of its block, ``T = tr(B B^T) = |B|_F^2``, invariant under rotations because the Wigner
matrices are orthogonal. One pair gives a vector of ``n_shells(i) * n_shells(j)`` traces,
row-shell major (the order of :func:`hamkit.physics.blocks.subblock_slices`). Units: the
square of the matrix unit (Hartree^2 for H).

Normalizations (:func:`normalize_traces`), applied to each pair's vector:

* ``"none"``: unchanged.
* ``"layer_norm"``: parameter-free layer norm across the sub-blocks of the pair,
  ``(T - mean) / sqrt(var + eps)`` (biased variance, like ``torch.nn.LayerNorm``). A pair
  with a single sub-block normalizes to 0.
* ``"log"``: ``log(T + eps)``; ``eps`` keeps vanishing sub-blocks finite (``log1p`` is not
  used: for T << 1 it is ~T and compresses nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.physics.blocks import Pair, matrix_to_blocks, subblock_slices

if TYPE_CHECKING:
    import torch

TraceNormalization = Literal["none", "layer_norm", "log"]
ArrayT = TypeVar("ArrayT", np.ndarray, "torch.Tensor")

DEFAULT_EPS: dict[str, float] = {"layer_norm": 1e-12, "log": 1e-12}
"""Default ``eps`` per normalization (square units of the matrix)."""


def block_traces(block: np.ndarray, z_row: int, z_col: int, basis: OrbitalBasis) -> np.ndarray:
    """Traces of all sub-blocks of one pair block.

    Args:
        block: Shape (..., n_i, n_j), canonical convention.
        z_row: Atomic number of atom ``i``.
        z_col: Atomic number of atom ``j``.
        basis: Shells per element.

    Returns:
        Shape (..., n_shells_i * n_shells_j), row-shell major.
    """
    subs = subblock_slices(z_row, z_col, basis)
    return np.stack([np.sum(block[..., s.rows, s.cols] ** 2, axis=(-2, -1)) for s in subs], axis=-1)


def pair_traces(
    matrix: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    pairs: Iterable[Pair] | None = None,
    normalization: TraceNormalization = "none",
    eps: float | None = None,
) -> dict[Pair, np.ndarray]:
    """Trace vectors of every requested pair.

    Args:
        matrix: Shape (..., n, n), canonical convention.
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        pairs: Default: all ordered pairs, on-site included.
        normalization: ``"none"``, ``"layer_norm"`` or ``"log"``.
        eps: Normalization epsilon; default :data:`DEFAULT_EPS`.

    Returns:
        ``{(i, j): traces}`` with shape (..., n_shells_i * n_shells_j).
    """
    numbers = np.asarray(numbers)
    blocks = matrix_to_blocks(matrix, numbers, basis, pairs)
    return {
        (i, j): normalize_traces(block_traces(b, int(numbers[i]), int(numbers[j]), basis), normalization, eps)
        for (i, j), b in blocks.items()
    }


def normalize_traces(traces: ArrayT, normalization: TraceNormalization = "none", eps: float | None = None) -> ArrayT:
    """Normalize trace vectors along the last axis (the sub-blocks of one pair).

    Works on numpy arrays and torch tensors.

    Args:
        traces: Shape (..., n_subblocks).
        normalization: ``"none"``, ``"layer_norm"`` or ``"log"`` (see module docstring).
        eps: Default :data:`DEFAULT_EPS` of the method.

    Returns:
        Same shape and type.
    """
    if normalization == "none":
        return traces
    if normalization not in DEFAULT_EPS:
        raise ValueError(f"unknown trace normalization {normalization!r}; use 'none', 'layer_norm' or 'log'")
    eps = DEFAULT_EPS[normalization] if eps is None else eps
    if isinstance(traces, np.ndarray):
        if normalization == "log":
            return np.log(traces + eps)
        centered = traces - traces.mean(axis=-1, keepdims=True)
        return centered / np.sqrt((centered**2).mean(axis=-1, keepdims=True) + eps)
    import torch

    if not isinstance(traces, torch.Tensor):
        raise TypeError(f"traces must be a numpy array or torch tensor, got {type(traces).__name__}")
    if normalization == "log":
        return torch.log(traces + eps)
    centered = traces - traces.mean(dim=-1, keepdim=True)
    return centered / torch.sqrt((centered**2).mean(dim=-1, keepdim=True) + eps)


def normalize_padded_traces(traces, mask, normalization: TraceNormalization = "none", eps: float | None = None):
    """:func:`normalize_traces` for padded rows: only entries with ``mask == 1`` count.

    Torch only (used by the trace loss on batched labels).

    Args:
        traces: (n_items, k) traces, padded.
        mask: (n_items, k) 0/1, 1 where a sub-block exists.
        normalization: ``"none"``, ``"layer_norm"`` or ``"log"``.
        eps: Default :data:`DEFAULT_EPS` of the method.

    Returns:
        (n_items, k) normalized traces, 0 at padded entries.
    """
    import torch

    if normalization == "none":
        return traces * mask
    if normalization not in DEFAULT_EPS:
        raise ValueError(f"unknown trace normalization {normalization!r}; use 'none', 'layer_norm' or 'log'")
    eps = DEFAULT_EPS[normalization] if eps is None else eps
    if normalization == "log":
        return torch.log(traces + eps) * mask
    count = mask.sum(dim=-1, keepdim=True).clamp_min(1.0)
    centered = (traces - (traces * mask).sum(dim=-1, keepdim=True) / count) * mask
    return centered / torch.sqrt(centered.square().sum(dim=-1, keepdim=True) / count + eps)
