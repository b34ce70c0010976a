"""Atomic-orbital basis description: which shells (angular momenta) each element carries.

An :class:`OrbitalBasis` records, per element, the degree ``l`` of every shell in the order
of the basis definition as PySCF lists it (one entry per contracted function, so a
generally contracted PySCF shell with ``nctr`` contractions gives ``nctr`` entries). A shell
of degree ``l`` holds ``2l + 1`` spherical functions. The order of the functions *inside* a
shell is a separate question, handled by :mod:`hamkit.physics.orbital_order`.

Nothing here hard-codes a basis: build one from a PySCF molecule, from a basis name, or from
an explicit ``{Z: [l, ...]}`` table.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

ShellTable = tuple[tuple[int, tuple[int, ...]], ...]

ElementKey = TypeVar("ElementKey", bound=int | str)
"""Key of a shell table: atomic numbers, element symbols, or a mix of both."""


def _element_symbol(atomic_number: int) -> str:
    from pyscf.data import elements as pyscf_elements

    return pyscf_elements.ELEMENTS[atomic_number]


def _atomic_number(element: int | str) -> int:
    if isinstance(element, (int, np.integer)):
        return int(element)
    from pyscf.data import elements as pyscf_elements

    return int(pyscf_elements.charge(str(element)))


@dataclass(frozen=True)
class OrbitalBasis:
    """Shells per element of a spherical (pure) atomic-orbital basis.

    Attributes:
        element_shells: ``((Z, (l_0, l_1, ...)), ...)`` sorted by atomic number ``Z``; the
            shell degrees of each element in basis-definition order.
        name: Free-form basis name (e.g. ``"def2-svp"``), ``""`` when unknown.
    """

    element_shells: ShellTable
    name: str = ""

    def __post_init__(self) -> None:
        normalized = []
        for atomic_number, shell_ls in self.element_shells:
            ls = tuple(int(l) for l in shell_ls)
            if not ls:
                raise ValueError(f"element Z={atomic_number} has no shells")
            if any(l < 0 for l in ls):
                raise ValueError(f"element Z={atomic_number} has a negative shell degree: {ls}")
            normalized.append((int(atomic_number), ls))
        numbers = [z for z, _ in normalized]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"element listed twice in basis: {sorted(numbers)}")
        object.__setattr__(self, "element_shells", tuple(sorted(normalized)))

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_shells(cls, shells: Mapping[ElementKey, Sequence[int]], name: str = "") -> OrbitalBasis:
        """Build from an explicit table.

        Args:
            shells: ``{Z or symbol: [l, ...]}``, shell degrees in basis-definition order.
            name: Optional basis name.

        Returns:
            The basis.
        """
        return cls(tuple((_atomic_number(z), tuple(ls)) for z, ls in shells.items()), name)

    @classmethod
    def from_pyscf_mol(cls, mol: Any, name: str | None = None) -> OrbitalBasis:
        """Read the shells of every element present in a PySCF molecule.

        Args:
            mol: A built ``pyscf.gto.Mole`` with a spherical basis (``mol.cart`` False).
            name: Basis name to record; defaults to ``mol.basis`` when it is a string.

        Returns:
            The basis, covering exactly the elements of ``mol``.

        Raises:
            ValueError: Cartesian basis, or two atoms of one element with different shells.
        """
        if getattr(mol, "cart", False):
            raise ValueError("Cartesian basis (mol.cart=True) is not supported: use spherical functions")
        shells: dict[int, tuple[int, ...]] = {}
        for atom_index in range(mol.natm):
            atomic_number = int(mol.atom_charge(atom_index))
            ls: list[int] = []
            for shell_id in mol.atom_shell_ids(atom_index):
                ls.extend([int(mol.bas_angular(shell_id))] * int(mol.bas_nctr(shell_id)))
            if atomic_number in shells and shells[atomic_number] != tuple(ls):
                raise ValueError(
                    f"atoms of element Z={atomic_number} carry different shells "
                    f"({shells[atomic_number]} vs {tuple(ls)}): per-atom bases are not supported"
                )
            shells[atomic_number] = tuple(ls)
        if name is None:
            name = mol.basis if isinstance(mol.basis, str) else ""
        basis = cls.from_shells(shells, name)
        numbers = [int(mol.atom_charge(i)) for i in range(mol.natm)]
        if basis.total_orbitals(numbers) != mol.nao_nr():
            raise ValueError("orbital count disagrees with PySCF's nao_nr()")
        return basis

    @classmethod
    def from_name(cls, basis_name: str, elements: Iterable[int | str]) -> OrbitalBasis:
        """Build a named basis for some elements from PySCF's basis library.

        One single-atom PySCF molecule is built per element (spin = Z mod 2 so that odd
        electron counts are valid).

        Args:
            basis_name: Any basis name PySCF knows, e.g. ``"def2-svp"``, ``"cc-pvtz"``.
            elements: Atomic numbers or symbols.

        Returns:
            The basis with ``name = basis_name``.

        Raises:
            ValueError: PySCF has no such basis for one of the elements.
        """
        from pyscf import gto

        shells: dict[int, tuple[int, ...]] = {}
        for element in elements:
            atomic_number = _atomic_number(element)
            symbol = _element_symbol(atomic_number)
            try:
                with warnings.catch_warnings():  # PySCF suggests basis-set-exchange on failure
                    warnings.simplefilter("ignore", UserWarning)
                    mol = gto.M(
                        atom=f"{symbol} 0 0 0", basis=basis_name, spin=atomic_number % 2, verbose=0
                    )
            except (KeyError, RuntimeError, ValueError) as error:  # BasisNotFoundError is a RuntimeError
                raise ValueError(
                    f"PySCF has no basis {basis_name!r} for element {symbol}: {error}"
                ) from None
            if mol.nbas == 0:
                raise ValueError(f"PySCF has no basis {basis_name!r} for element {symbol}")
            shells.update(cls.from_pyscf_mol(mol).shells_by_element)
        return cls.from_shells(shells, basis_name)

    # ----------------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description: ``{"name": str, "shells": {"Z": [l, ...]}}``."""
        return {"name": self.name, "shells": {str(z): list(ls) for z, ls in self.element_shells}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrbitalBasis:
        """Inverse of :meth:`to_dict`."""
        return cls.from_shells({int(z): ls for z, ls in data["shells"].items()}, data.get("name", ""))

    # ----------------------------------------------------------------- queries
    @functools.cached_property
    def shells_by_element(self) -> dict[int, tuple[int, ...]]:
        """``{Z: (l, ...)}`` view of :attr:`element_shells`."""
        return dict(self.element_shells)

    @property
    def elements(self) -> tuple[int, ...]:
        """Atomic numbers covered, ascending."""
        return tuple(z for z, _ in self.element_shells)

    @property
    def max_l(self) -> int:
        """Highest shell degree over all elements."""
        return max(max(ls) for _, ls in self.element_shells)

    def shell_ls(self, atomic_number: int) -> tuple[int, ...]:
        """Shell degrees of one element, in basis-definition order.

        Raises:
            ValueError: The element is not in the basis.
        """
        try:
            return self.shells_by_element[int(atomic_number)]
        except KeyError:
            label = f" {self.name!r}" if self.name else ""
            raise ValueError(
                f"element Z={int(atomic_number)} is not in basis{label} (covers Z={list(self.elements)})"
            ) from None

    def n_orbitals(self, atomic_number: int) -> int:
        """Number of orbitals (spherical functions) on one atom of this element."""
        return sum(2 * l + 1 for l in self.shell_ls(atomic_number))

    def shell_slices(self, atomic_number: int) -> tuple[slice, ...]:
        """Slices of each shell's functions within the atom's orbitals (length n_orbitals)."""
        slices = []
        start = 0
        for l in self.shell_ls(atomic_number):
            slices.append(slice(start, start + 2 * l + 1))
            start += 2 * l + 1
        return tuple(slices)

    def atom_orbital_offsets(self, numbers: Sequence[int] | np.ndarray) -> np.ndarray:
        """Start of each atom's orbitals in the full matrix.

        Args:
            numbers: Atomic numbers, shape (n_atoms,).

        Returns:
            int64 array of shape (n_atoms + 1,); atom ``i`` owns ``offsets[i]:offsets[i+1]``
            and ``offsets[-1]`` is the total orbital count.
        """
        counts = [self.n_orbitals(z) for z in np.asarray(numbers).tolist()]
        return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)

    def total_orbitals(self, numbers: Sequence[int] | np.ndarray) -> int:
        """Total orbital count of a structure."""
        return int(self.atom_orbital_offsets(numbers)[-1])

    def orbital_shell_ls(self, numbers: Sequence[int] | np.ndarray) -> list[int]:
        """Degree ``l`` of every shell of a structure, atom by atom, in matrix order."""
        return [l for z in np.asarray(numbers).tolist() for l in self.shell_ls(z)]

