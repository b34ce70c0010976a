"""Orbital order conventions of electronic-structure codes and the canonical hamkit order.

Canonical convention (the QH9/QHNet one, used for every H and S hamkit stores): within an
atom, shells in basis-definition order (as PySCF lists them); inside a shell of degree ``l``
the real spherical functions in the order ``m = -l..l`` of the standard z-polar real
harmonics, all signs +1. For ``l = 1`` that is ``(py, pz, px)``; for ``l >= 2`` it coincides
with PySCF's order. In this convention every (l1, l2) sub-block transforms under a rotation
``R`` of the positions as ``D^{l1} B D^{l2}^T`` with e3nn's ``D^l(P R P^T)`` (see
:mod:`hamkit.physics.frames` and :mod:`hamkit.physics.rotation`).

A :class:`ShellOrder` says how one shell of a code maps onto the canonical shell::

    canonical[k] = signs[k] * code[gather[k]]

Tables (from ``docs/CONVENTIONS.md``):

* ``canonical``: identity for every ``l``.
* ``pyscf``: ``p`` gather ``[1, 2, 0]``; identity for ``l != 1``; signs +1; any ``l``.
* ``orca``: m order ``0, +1, -1, +2, -2, ...``: ``p`` gather ``[2, 0, 1]``, ``d`` gather
  ``[4, 2, 0, 1, 3]``, signs +1 (verified for s, p, d). For ``l >= 3`` the same m-order rule
  with signs +1 is used, which is **unverified**; some third-party tools state that ORCA
  flips the sign of the ``|m| >= 3`` functions. Check with a rotation test before trusting
  ORCA f or g data.
* ``openmx``: ``p`` gather ``[1, 2, 0]``, ``d`` ``[2, 4, 0, 3, 1]``, ``f``
  ``[6, 4, 2, 0, 1, 3, 5]``, signs +1; ``l <= 3`` only.
* ``aims``: order already ``m = -l..l``; signs ``p [1, 1, -1]``, ``d [1, 1, 1, -1, 1]``;
  ``l <= 2`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hamkit.data.basis import OrbitalBasis


@dataclass(frozen=True)
class ShellOrder:
    """Map from one shell of degree ``l`` in some code's order to the canonical order.

    ``canonical[k] = signs[k] * code[gather[k]]`` for ``k = 0..2l``.

    Attributes:
        l: Shell degree.
        gather: Permutation of ``range(2l+1)``.
        signs: One of +1/-1 per canonical function.
    """

    l: int
    gather: tuple[int, ...]
    signs: tuple[int, ...]

    def __post_init__(self) -> None:
        size = 2 * self.l + 1
        if sorted(self.gather) != list(range(size)):
            raise ValueError(f"gather {self.gather} is not a permutation of range({size})")
        if len(self.signs) != size or any(s not in (1, -1) for s in self.signs):
            raise ValueError(f"signs {self.signs} must be {size} values of +1/-1")

    @classmethod
    def identity(cls, l: int) -> ShellOrder:
        """The canonical order itself."""
        return cls(l, tuple(range(2 * l + 1)), (1,) * (2 * l + 1))


def _m_interleaved_gather(l: int) -> tuple[int, ...]:
    """Gather from the order ``m = 0, +1, -1, +2, -2, ...`` to ``m = -l..l``."""
    position = {0: 0}
    for m in range(1, l + 1):
        position[m] = 2 * m - 1
        position[-m] = 2 * m
    return tuple(position[m] for m in range(-l, l + 1))


@dataclass(frozen=True)
class OrderConvention:
    """One code's orbital order: a :class:`ShellOrder` per shell degree.

    Attributes:
        name: Convention name, e.g. ``"orca"``.
        rule: Returns the shell order for a degree, or ``None`` when there is no table.
        max_l: Highest degree with a table (``None``: unbounded), for messages only.
    """

    name: str
    rule: Callable[[int], ShellOrder | None] = field(compare=False)
    max_l: int | None = None

    def shell_order(self, l: int) -> ShellOrder:
        """Table for degree ``l``.

        Raises:
            ValueError: The convention has no table for ``l``.
        """
        order = self.rule(l) if (self.max_l is None or l <= self.max_l) else None
        if order is None:
            raise ValueError(f"convention {self.name!r} has no table for l={l}")
        return order


def _table_rule(tables: Mapping[int, ShellOrder]) -> Callable[[int], ShellOrder | None]:
    return lambda l: tables.get(l)


def _pyscf_rule(l: int) -> ShellOrder:
    return ShellOrder(1, (1, 2, 0), (1, 1, 1)) if l == 1 else ShellOrder.identity(l)


def _orca_rule(l: int) -> ShellOrder:
    return ShellOrder(l, _m_interleaved_gather(l), (1,) * (2 * l + 1))


_OPENMX_TABLES = {
    0: ShellOrder.identity(0),
    1: ShellOrder(1, (1, 2, 0), (1, 1, 1)),
    2: ShellOrder(2, (2, 4, 0, 3, 1), (1,) * 5),
    3: ShellOrder(3, (6, 4, 2, 0, 1, 3, 5), (1,) * 7),
}

_AIMS_TABLES = {
    0: ShellOrder.identity(0),
    1: ShellOrder(1, (0, 1, 2), (1, 1, -1)),
    2: ShellOrder(2, (0, 1, 2, 3, 4), (1, 1, 1, -1, 1)),
}

CONVENTIONS: dict[str, OrderConvention] = {
    "canonical": OrderConvention("canonical", ShellOrder.identity),
    "pyscf": OrderConvention("pyscf", _pyscf_rule),
    "orca": OrderConvention("orca", _orca_rule),
    "openmx": OrderConvention("openmx", _table_rule(_OPENMX_TABLES), max_l=3),
    "aims": OrderConvention("aims", _table_rule(_AIMS_TABLES), max_l=2),
}
"""Built-in conventions by name."""


def get_convention(code: str | OrderConvention) -> OrderConvention:
    """Look a convention up by name (case-insensitive) or pass an object through.

    Raises:
        ValueError: Unknown name.
    """
    if isinstance(code, OrderConvention):
        return code
    try:
        return CONVENTIONS[code.lower()]
    except KeyError:
        raise ValueError(f"unknown orbital convention {code!r}; known: {sorted(CONVENTIONS)}") from None


def orbital_gather_and_signs(
    numbers: Sequence[int] | np.ndarray, basis: OrbitalBasis, code: str | OrderConvention
) -> tuple[np.ndarray, np.ndarray]:
    """Whole-structure version of the shell tables.

    Args:
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        code: Convention name or object.

    Returns:
        ``(gather, signs)``, each shape (n_orbitals,), such that
        ``canonical = signs * code_vector[gather]``.
    """
    convention = get_convention(code)
    gather: list[int] = []
    signs: list[int] = []
    start = 0
    for l in basis.orbital_shell_ls(numbers):
        order = convention.shell_order(l)
        gather.extend(start + g for g in order.gather)
        signs.extend(order.signs)
        start += 2 * l + 1
    return np.asarray(gather, dtype=np.int64), np.asarray(signs, dtype=np.float64)


def matrix_to_canonical(
    matrix: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    code: str | OrderConvention,
) -> np.ndarray:
    """Reorder an operator matrix from a code's orbital order to the canonical order.

    Args:
        matrix: Shape (..., n, n) in ``code`` order (a stack is allowed).
        numbers: Atomic numbers, shape (n_atoms,).
        basis: Shells per element.
        code: Convention name (``"pyscf"``, ``"orca"``, ``"openmx"``, ``"aims"``, ...).

    Returns:
        New array of shape (..., n, n) in canonical order.
    """
    gather, signs = orbital_gather_and_signs(numbers, basis, code)
    _check_size(matrix, gather.size)
    reordered = np.asarray(matrix)[..., gather, :][..., :, gather]
    return reordered * signs[:, None] * signs[None, :]


def matrix_from_canonical(
    matrix: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    code: str | OrderConvention,
) -> np.ndarray:
    """Exact inverse of :func:`matrix_to_canonical`: canonical (..., n, n) to ``code`` order."""
    gather, signs = orbital_gather_and_signs(numbers, basis, code)
    _check_size(matrix, gather.size)
    inverse = np.argsort(gather)
    signed = np.asarray(matrix) * signs[:, None] * signs[None, :]
    return signed[..., inverse, :][..., :, inverse]


def rows_to_canonical(
    array: np.ndarray,
    numbers: Sequence[int] | np.ndarray,
    basis: OrbitalBasis,
    code: str | OrderConvention,
) -> np.ndarray:
    """Reorder the orbital rows of e.g. MO coefficients, shape (n, ...), to canonical order."""
    gather, signs = orbital_gather_and_signs(numbers, basis, code)
    array = np.asarray(array)
    if array.shape[0] != gather.size:
        raise ValueError(f"array has {array.shape[0]} rows, the basis gives {gather.size} orbitals")
    return array[gather] * signs.reshape((-1,) + (1,) * (array.ndim - 1))


def _check_size(matrix: np.ndarray, n_orbitals: int) -> None:
    shape = np.shape(matrix)
    if len(shape) < 2 or shape[-1] != n_orbitals or shape[-2] != n_orbitals:
        raise ValueError(f"matrix of shape {shape} does not match the {n_orbitals} orbitals of the basis")
