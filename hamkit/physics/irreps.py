"""Sub-block <-> Clebsch-Gordan irreps, orthonormal and exactly invertible.

A sub-block ``B`` of shape (2 l1 + 1, 2 l2 + 1) between shells of degrees ``l1`` and ``l2``
(canonical order) is the direct sum of irreps ``L = |l1 - l2| .. l1 + l2``:

    x_L[M] = sum_{m1, m2} C_L[m1, m2, M] B[m1, m2],
    C_L = sqrt(2L + 1) * wigner_3j(l1, l2, L)    (e3nn's table, unit Frobenius norm).

With the ``sqrt(2L + 1)`` factor the stacked map is an orthogonal (square) matrix, so
``B = sum_L C_L x_L`` exactly, ``sum_L |x_L|^2 = tr(B B^T)``, and if ``B -> D^{l1} B D^{l2}^T``
then ``x_L -> D^L x_L`` (all D from e3nn in hamkit's frame).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np
import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3


@functools.lru_cache(maxsize=None)
def cg_basis(l1: int, l2: int) -> tuple[tuple[int, np.ndarray], ...]:
    """Orthonormal Clebsch-Gordan change of basis.

    Args:
        l1: Row shell degree.
        l2: Column shell degree.

    Returns:
        ``((L, C_L), ...)`` for ``L = |l1 - l2| .. l1 + l2``, ``C_L`` float64 of shape
        (2 l1 + 1, 2 l2 + 1, 2 L + 1), read-only.
    """
    result = []
    for big_l in range(abs(l1 - l2), l1 + l2 + 1):
        coefficients = o3.wigner_3j(l1, l2, big_l, dtype=torch.float64).numpy()
        coefficients = coefficients * np.sqrt(2 * big_l + 1)
        coefficients.setflags(write=False)
        result.append((big_l, coefficients))
    return tuple(result)


def irrep_degrees(l1: int, l2: int) -> tuple[int, ...]:
    """``(|l1 - l2|, ..., l1 + l2)``."""
    return tuple(range(abs(l1 - l2), l1 + l2 + 1))


def subblock_to_irreps(block: np.ndarray, l1: int, l2: int) -> dict[int, np.ndarray]:
    """Decompose sub-blocks into irreps.

    Args:
        block: Shape (..., 2 l1 + 1, 2 l2 + 1).
        l1: Row degree.
        l2: Column degree.

    Returns:
        ``{L: x_L}`` with ``x_L`` of shape (..., 2 L + 1).
    """
    _check_block(np.shape(block), l1, l2)
    return {big_l: np.einsum("...ij,ijk->...k", block, c) for big_l, c in cg_basis(l1, l2)}


def irreps_to_subblock(irreps: dict[int, np.ndarray], l1: int, l2: int) -> np.ndarray:
    """Exact inverse of :func:`subblock_to_irreps`: ``{L: (..., 2L+1)}`` to (..., 2l1+1, 2l2+1)."""
    _check_irreps(irreps, l1, l2)
    return sum(np.einsum("...k,ijk->...ij", irreps[big_l], c) for big_l, c in cg_basis(l1, l2))


@functools.lru_cache(maxsize=None)
def _cg_basis_torch_cpu(l1: int, l2: int) -> tuple[tuple[int, torch.Tensor], ...]:
    return tuple((big_l, torch.from_numpy(np.array(c))) for big_l, c in cg_basis(l1, l2))


def cg_basis_torch(
    l1: int, l2: int, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
) -> tuple[tuple[int, torch.Tensor], ...]:
    """Torch version of :func:`cg_basis` (computed in float64, then cast)."""
    return tuple((big_l, c.to(dtype=dtype, device=device)) for big_l, c in _cg_basis_torch_cpu(l1, l2))


def subblock_to_irreps_torch(block: torch.Tensor, l1: int, l2: int) -> dict[int, torch.Tensor]:
    """Torch version of :func:`subblock_to_irreps`; differentiable, dtype/device of ``block``."""
    _check_block(tuple(block.shape), l1, l2)
    return {
        big_l: torch.einsum("...ij,ijk->...k", block, c)
        for big_l, c in cg_basis_torch(l1, l2, block.dtype, block.device)
    }


def irreps_to_subblock_torch(irreps: dict[int, torch.Tensor], l1: int, l2: int) -> torch.Tensor:
    """Torch version of :func:`irreps_to_subblock`; differentiable."""
    _check_irreps(irreps, l1, l2)
    reference = irreps[abs(l1 - l2)]
    terms = [
        torch.einsum("...k,ijk->...ij", irreps[big_l], c)
        for big_l, c in cg_basis_torch(l1, l2, reference.dtype, reference.device)
    ]
    return torch.stack(terms).sum(dim=0)


def _check_block(shape: tuple[int, ...], l1: int, l2: int) -> None:
    if len(shape) < 2 or tuple(shape[-2:]) != (2 * l1 + 1, 2 * l2 + 1):
        raise ValueError(f"sub-block of shape {tuple(shape)} does not match l1={l1}, l2={l2}")


def _check_irreps(irreps: Mapping[int, object], l1: int, l2: int) -> None:
    if sorted(irreps) != list(irrep_degrees(l1, l2)):
        raise ValueError(f"irreps {sorted(irreps)} do not match l1={l1}, l2={l2}: need {list(irrep_degrees(l1, l2))}")
