"""PySCF molecules in a model's basis: overlap matrices and SCF input for predictions.

A model's :class:`~hamkit.data.basis.OrbitalBasis` records the basis name (e.g.
``"def2-svp"``) and the shells per element. :func:`model_molecule` builds the PySCF
molecule of a structure with that name and checks that PySCF's shells are the model's,
so a matrix the model predicts and one PySCF computes always refer to the same functions.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_to_canonical


def normalized_basis_name(name: str) -> str:
    """A basis name as PySCF compares them: lower case, no ``-``, ``_`` or spaces."""
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def same_basis_name(first: str, second: str) -> bool:
    """Whether two basis names mean the same PySCF basis (``def2-SVP`` == ``def2svp``)."""
    return normalized_basis_name(first) == normalized_basis_name(second)


def model_molecule(structure: Structure, basis: OrbitalBasis, closed_shell: bool = False) -> Any:
    """The PySCF molecule of a structure in a model's basis (spherical, Angstrom).

    Args:
        structure: The atoms and total charge.
        basis: The model's basis; its ``name`` must be a basis PySCF knows.
        closed_shell: Require an even electron count (SCF runs); otherwise an odd count
            builds a doublet, which is fine for one-electron integrals such as S.

    Returns:
        A built ``pyscf.gto.Mole``.

    Raises:
        HamkitError: The basis has no name, PySCF does not know it, its shells differ from
            the model's, or an open shell where ``closed_shell`` is asked.
    """
    from pyscf import gto

    missing = sorted(set(structure.numbers.tolist()) - set(basis.elements))
    if missing:
        raise HamkitError(f"element(s) Z={missing} are not in the model's basis '{basis.name}' "
                          f"(it covers Z={list(basis.elements)})")
    if not basis.name:
        raise HamkitError("the model's basis has no name, so PySCF cannot build its overlap matrix")
    n_electrons = int(structure.numbers.sum()) - int(structure.charge)
    if n_electrons < 0:
        raise HamkitError(f"charge {structure.charge} leaves {n_electrons} electrons")
    if closed_shell and n_electrons % 2:
        raise HamkitError(f"{n_electrons} electrons: only closed-shell molecules are supported "
                          "(check --charge)")
    atoms = [(int(z), tuple(float(x) for x in xyz)) for z, xyz in zip(structure.numbers, structure.positions)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            mol = gto.M(atom=atoms, unit="Angstrom", basis=basis.name, charge=int(structure.charge),
                        spin=n_electrons % 2, cart=False, verbose=0)
    except (KeyError, RuntimeError, ValueError) as error:
        raise HamkitError(f"PySCF cannot build the molecule in basis {basis.name!r}: {error}") from None
    built = OrbitalBasis.from_pyscf_mol(mol)
    for z, shells in built.element_shells:
        if basis.shell_ls(z) != shells:
            raise HamkitError(
                f"PySCF's basis {basis.name!r} gives Z={z} the shells {shells}, the model's basis "
                f"{basis.shell_ls(z)}: the model was not trained in this PySCF basis"
            )
    return mol


def canonical_overlap(mol: Any, structure: Structure, basis: OrbitalBasis) -> np.ndarray:
    """PySCF's overlap matrix of a molecule, in hamkit's canonical orbital order."""
    return matrix_to_canonical(mol.intor("int1e_ovlp"), structure.numbers, basis, "pyscf")
