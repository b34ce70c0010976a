"""Labels of one structure from PySCF: converged Fock matrix H, overlap S, energy.

Restricted closed-shell SCF only: ``xc = "hf"`` runs RHF, anything else RKS with that
functional (any libxc name PySCF accepts; ``"b3lyp5"`` reproduces QH9's labels, since
PySCF >= 2.3 defines ``"b3lyp"`` with VWN-RPA). H and S are returned in hamkit's
canonical orbital order, Hartree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_to_canonical

HF_NAMES = ("hf", "rhf")


@dataclass(frozen=True)
class LabelSettings:
    """How labels are computed; every field goes into the store's provenance.

    Attributes:
        xc: Functional (``"b3lyp"``, ``"b3lyp5"``, ``"pbe"``, ...) or ``"hf"``.
        basis: PySCF basis name.
        grid_level: PySCF DFT grid level (0-9; PySCF's default is 3).
        conv_tol: SCF energy convergence threshold, Hartree.
        max_cycle: Maximum SCF iterations.
    """

    xc: str = "b3lyp"
    basis: str = "def2-svp"
    grid_level: int = 3
    conv_tol: float = 1e-9
    max_cycle: int = 100

    @property
    def method(self) -> str:
        """``"RHF"`` or ``"RKS"``."""
        return "RHF" if self.xc.lower() in HF_NAMES else "RKS"

    def provenance(self) -> dict[str, Any]:
        """Fields identifying the labels: code, code_version, method and the settings."""
        import pyscf

        return {"code": "pyscf", "code_version": pyscf.__version__, "method": self.method,
                **asdict(self)}

    def check(self, elements: list[int] | tuple[int, ...]) -> OrbitalBasis:
        """Validate the settings and build the basis for some elements.

        Args:
            elements: Atomic numbers that will occur.

        Returns:
            The orbital basis (shells per element as PySCF defines them).

        Raises:
            HamkitError: Unknown functional or basis, grid level out of range.
        """
        if not 0 <= self.grid_level <= 9:
            raise HamkitError(f"grid level {self.grid_level} is out of range (0-9)")
        if self.method == "RKS":
            from pyscf.dft import libxc

            try:
                libxc.parse_xc(self.xc)
            except (KeyError, ValueError) as error:
                raise HamkitError(f"PySCF does not know the functional {self.xc!r}: {error}") from None
        try:
            return OrbitalBasis.from_name(self.basis, elements)
        except ValueError as error:
            raise HamkitError(str(error)) from None


@dataclass(frozen=True)
class Labels:
    """Result of one SCF.

    Attributes:
        hamiltonian: Converged Fock matrix, canonical order, (n_orbitals, n_orbitals), Hartree.
        overlap: Overlap matrix, canonical order, (n_orbitals, n_orbitals).
        energy: Total energy, Hartree.
        converged: Whether the SCF converged.
        cycles: SCF iterations used.
    """

    hamiltonian: np.ndarray
    overlap: np.ndarray
    energy: float
    converged: bool
    cycles: int


def build_molecule(structure: Structure, basis_name: str) -> Any:
    """PySCF molecule (spherical basis, Angstrom, closed shell).

    Raises:
        ValueError: Odd electron count (open shells are not supported).
    """
    from pyscf import gto

    n_electrons = int(structure.numbers.sum()) - int(structure.charge)
    if n_electrons % 2:
        raise ValueError(f"{n_electrons} electrons: open-shell molecules are not supported")
    atoms = [(int(z), tuple(float(x) for x in xyz)) for z, xyz in
             zip(structure.numbers, structure.positions)]
    return gto.M(atom=atoms, unit="Angstrom", basis=basis_name, charge=int(structure.charge),
                 spin=0, cart=False, verbose=0)


def compute_labels(structure: Structure, settings: LabelSettings, basis: OrbitalBasis) -> Labels:
    """Run the SCF and return H, S and the energy in the canonical convention.

    Args:
        structure: The atoms (Angstrom).
        settings: Functional, basis, grid, convergence.
        basis: The store's basis; must match PySCF's shells for these elements.

    Returns:
        The labels (also when the SCF did not converge: check ``converged``).

    Raises:
        ValueError: Open-shell molecule, or a basis mismatch.
    """
    from pyscf import dft, scf

    molecule = build_molecule(structure, settings.basis)
    mol_basis = OrbitalBasis.from_pyscf_mol(molecule)
    for z, shells in mol_basis.element_shells:
        if basis.shell_ls(z) != shells:
            raise ValueError(f"PySCF gives Z={z} shells {shells}, the store basis {basis.shell_ls(z)}")
    if settings.method == "RHF":
        solver = scf.RHF(molecule)
    else:
        solver = dft.RKS(molecule)
        solver.xc = settings.xc
        solver.grids.level = settings.grid_level
    solver.conv_tol = settings.conv_tol
    solver.max_cycle = settings.max_cycle
    solver.kernel()
    fock = solver.get_fock(dm=solver.make_rdm1())
    overlap = molecule.intor("int1e_ovlp")
    numbers = structure.numbers
    return Labels(
        hamiltonian=matrix_to_canonical(fock, numbers, basis, "pyscf"),
        overlap=matrix_to_canonical(overlap, numbers, basis, "pyscf"),
        energy=float(solver.e_tot),
        converged=bool(solver.converged),
        cycles=int(getattr(solver, "cycles", -1)),
    )
