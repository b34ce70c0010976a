"""Labels of one periodic structure from PySCF: real-space H(R) and S(R) from a k-mesh SCF.

Pipeline:

1. Restricted Kohn-Sham on a Gamma-centred k-mesh (``pyscf.pbc.dft.KRKS``), GTH
   pseudopotentials, optional Fermi-Dirac smearing (needed for semimetals such as
   graphene, whose Dirac point lies on every k-mesh divisible by 3).
2. Bloch matrices H(k) = converged Kohn-Sham matrix and S(k) at the mesh points.
3. Lattice Fourier sum ``F(R) = (1/N_k) sum_k exp(-2 pi i k.R) H(k)``: the matrix of the
   Born-von-Karman (BvK) supercell, i.e. the sum of H(R + N L) over supercell vectors L.
4. Wigner-Seitz (minimum-image) assignment: the block of atoms (i, j) of each BvK class R
   goes to the lattice vector(s) R' = R + N L that minimise |tau_j + R' @ cell - tau_i|;
   an m-fold tie shares the block with weight 1/m each. The imaginary part must vanish
   (time-reversal symmetry of the mesh); H(-R) = H(R)^T is then imposed exactly.
5. Only translations with at least one atom pair closer than ``max_distance`` are kept.

Everything returned is in hamkit's canonical orbital order, Hartree (see
:mod:`hamkit.data.structure` for the meaning of H(R)); steps 3-4 live in
:mod:`hamkit.labelling.lattice_fourier`. The interpolation error of this
truncation at k-points off the mesh is measured by :func:`band_check`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.errors import HamkitError
from hamkit.labelling.lattice_fourier import orbital_atoms, real_space_matrices
from hamkit.labelling.pbc_cell import absolute_kpoints, build_cell, check_basis, rebuild_quietly
from hamkit.labelling.pyscf_labels import LabelSettings
from hamkit.physics.bloch import bloch_matrices, monkhorst_pack
from hamkit.physics.orbital_order import matrix_to_canonical

HARTREE_TO_MEV = 27211.386245988
INTEGRAL_SCHEMES = ("multigrid", "fftdf", "gdf")
GAP_SMEARINGS = 10.0
"""A band gap wider than this many smearing widths counts as an insulator (mid-gap Fermi level)."""


@dataclass(frozen=True)
class PeriodicLabelSettings:
    """How periodic labels are computed; every field goes into the store's provenance.

    Attributes:
        xc: Functional (any libxc name PySCF accepts; ``"pbe"`` matches the GTH-PBE
            pseudopotentials).
        basis: PySCF basis name (``"gth-szv"``; Mo needs ``"gth-szv-molopt-sr"``).
        pseudo: PySCF pseudopotential name, or None for all electrons.
        kmesh: Gamma-centred k-mesh; 1 along every non-periodic direction.
        conv_tol: SCF energy convergence, Hartree per cell.
        max_cycle: Maximum SCF iterations.
        integrals: Coulomb/XC integration: ``"multigrid"`` (PySCF's MultiGrid, fastest for
            GTH pseudopotentials with LDA/GGA functionals and a vacuum region),
            ``"fftdf"`` (plain FFT) or ``"gdf"`` (Gaussian density fitting).
        smearing: Fermi-Dirac smearing width, Hartree (0: integer occupations).
        ke_cutoff: Kinetic-energy cut-off of the FFT mesh, Hartree; None uses PySCF's
            estimate from ``precision``.
        precision: PySCF ``cell.precision`` (lattice-sum and Gaussian-tail cut-off).
        max_distance: Keep translations with an atom pair closer than this, Angstrom.
    """

    xc: str = "pbe"
    basis: str = "gth-szv"
    pseudo: str | None = "gth-pbe"
    kmesh: tuple[int, int, int] = (6, 6, 1)
    conv_tol: float = 1e-8
    max_cycle: int = 100
    integrals: str = "multigrid"
    smearing: float = 0.005
    ke_cutoff: float | None = None
    precision: float = 1e-8
    max_distance: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kmesh", tuple(int(n) for n in self.kmesh))

    @property
    def method(self) -> str:
        """``"KRKS"`` (restricted Kohn-Sham on a k-mesh)."""
        return "KRKS"

    def provenance(self) -> dict[str, Any]:
        """Fields identifying the labels: code, code_version, method and the settings."""
        return {**LabelSettings().provenance(), "method": self.method, "grid_level": None,
                **asdict(self), "kmesh": list(self.kmesh)}

    def check(self, elements: list[int] | tuple[int, ...]) -> OrbitalBasis:
        """Like :meth:`LabelSettings.check` (functional, basis), plus the periodic fields.

        Raises:
            HamkitError: Unknown functional, basis or pseudopotential for ``elements``, a
                k-mesh that is not three positive integers, unknown integrals, negative
                smearing or a non-positive max_distance.
        """
        if len(self.kmesh) != 3 or min(self.kmesh) < 1:
            raise HamkitError(f"k-mesh {self.kmesh} must be three positive integers")
        if self.integrals not in INTEGRAL_SCHEMES:
            raise HamkitError(f"integrals {self.integrals!r} is not one of {INTEGRAL_SCHEMES}")
        if self.smearing < 0 or self.max_distance <= 0:
            raise HamkitError("smearing must be >= 0 and max_distance > 0")
        if self.pseudo is not None:
            _check_pseudo(self.pseudo, elements)
        return LabelSettings(xc=self.xc, basis=self.basis).check(elements)  # functional, basis


def _check_pseudo(pseudo: str, elements: list[int] | tuple[int, ...]) -> None:
    """Raise HamkitError when PySCF has no ``pseudo`` for one of ``elements``."""
    from pyscf.data.elements import ELEMENTS
    from pyscf.pbc.gto import pseudo as pseudo_library

    for atomic_number in elements:
        symbol = ELEMENTS[atomic_number]
        try:
            pseudo_library.load(pseudo, symbol)
        except (KeyError, RuntimeError, ValueError, OSError) as error:
            raise HamkitError(f"PySCF has no pseudopotential {pseudo!r} for {symbol}: {error}") from None


@dataclass(frozen=True)
class PeriodicLabels:
    """Result of one periodic SCF.

    Attributes:
        translations: Lattice translations R, (n_R, 3) int64; R and -R both present.
        hamiltonian: H(R), (n_R, n, n) float64, canonical order, Hartree.
        overlap: S(R), (n_R, n, n) float64, canonical order.
        fermi_level: Mid-gap energy of an insulator, else the smeared chemical potential,
            Hartree (:func:`fermi_level`). Absolute energies of a 3D-periodic cell are
            relative to its average electrostatic potential, which depends on the vacuum
            size: H - fermi_level * S is the reference-free quantity.
        n_electrons: Valence electrons per cell (``cell.nelectron``).
        energy: Total energy per cell, Hartree (with smearing: PySCF's ``e_tot``, the
            free energy).
        converged: Whether the SCF converged.
        cycles: SCF iterations used.
        solver: The converged PySCF solver, for checks (never stored).
        kpoints: Reduced coordinates of the SCF k-mesh, (n_k, 3).
    """

    translations: np.ndarray
    hamiltonian: np.ndarray
    overlap: np.ndarray
    fermi_level: float
    n_electrons: int
    energy: float
    converged: bool
    cycles: int
    solver: Any = field(default=None, repr=False, compare=False)
    kpoints: np.ndarray | None = None


# --------------------------------------------------------------------- SCF
def run_krks(structure: Structure, settings: PeriodicLabelSettings) -> tuple[Any, np.ndarray]:
    """Run the k-mesh SCF.

    Args:
        structure: The periodic structure.
        settings: The label settings.

    Returns:
        ``(solver, kpoints)``: the PySCF KRKS object after ``kernel()`` and the reduced
        k-points of the mesh, (n_k, 3).

    Raises:
        ValueError: Non-periodic structure, k-mesh != 1 along a non-periodic axis, odd
            electron count.
    """
    from pyscf.pbc import dft, scf

    for axis, periodic in enumerate(structure.pbc):
        if not periodic and settings.kmesh[axis] != 1:
            raise ValueError(f"k-mesh {settings.kmesh} samples axis a{axis + 1}, which is not periodic")
    cell = build_cell(structure, settings.basis, settings.pseudo, precision=settings.precision)
    if settings.ke_cutoff is not None:
        cell.ke_cutoff = settings.ke_cutoff
        rebuild_quietly(cell)
    kpoints = monkhorst_pack(settings.kmesh)
    solver = dft.KRKS(cell, absolute_kpoints(cell, kpoints))
    solver.xc = settings.xc
    if settings.integrals == "multigrid":
        from pyscf.pbc.dft import multigrid

        solver._numint = multigrid.MultiGridNumInt(cell)
    elif settings.integrals == "gdf":
        solver = solver.density_fit()
    if settings.smearing > 0:
        solver = scf.addons.smearing_(solver, sigma=settings.smearing, method="fermi")
    solver.conv_tol = settings.conv_tol
    solver.max_cycle = settings.max_cycle
    solver.kernel()
    return solver, kpoints


def fermi_level(solver: Any, n_electrons: int) -> float:
    """Fermi level over the SCF mesh, Hartree.

    Mid-gap when the lowest ``n_electrons / 2`` bands lie below all others by more than
    ``GAP_SMEARINGS`` smearing widths (an insulator: the chemical potential of a smeared
    SCF could sit anywhere in the gap), else the Fermi-Dirac chemical potential of the
    final band energies (:func:`chemical_potential`).

    Args:
        solver: The converged KRKS solver (``mo_energy``; ``sigma`` when smeared).
        n_electrons: Electrons per cell (even).
    """
    energies = np.array([np.sort(np.asarray(e)) for e in solver.mo_energy])
    n_occupied = n_electrons // 2
    top = float(energies[:, n_occupied - 1].max())
    bottom = float(energies[:, n_occupied].min()) if energies.shape[1] > n_occupied else top
    sigma = float(getattr(solver, "sigma", 0.0) or 0.0)
    if bottom - top > GAP_SMEARINGS * sigma or sigma == 0.0:
        return 0.5 * (top + bottom)
    return chemical_potential(energies, n_electrons, sigma)


def chemical_potential(energies: np.ndarray, n_electrons: int, sigma: float) -> float:
    """mu with (2 / n_k) sum_kn f((e_kn - mu) / sigma) = n_electrons, f the Fermi-Dirac function.

    Args:
        energies: Band energies on the mesh, (n_k, n_bands), Hartree.
        n_electrons: Electrons per cell.
        sigma: Smearing width, Hartree (> 0).
    """
    from scipy.optimize import brentq
    from scipy.special import expit

    def excess(mu: float) -> float:
        return 2.0 * float(expit(-(energies - mu) / sigma).sum()) / len(energies) - n_electrons

    return float(brentq(excess, energies.min() - 50 * sigma, energies.max() + 50 * sigma, xtol=1e-14))


# --------------------------------------------------------------------- driver
def bloch_labels(solver: Any, numbers: np.ndarray, basis: OrbitalBasis) -> tuple[np.ndarray, np.ndarray]:
    """Kohn-Sham matrix H(k) and overlap S(k) of a converged solver on its own k-mesh.

    Args:
        solver: The converged PySCF k-point solver.
        numbers: Atomic numbers, (n_atoms,).
        basis: The store's basis.

    Returns:
        ``(H(k), S(k))``, each (n_k, n, n) complex128 Hermitian, canonical order, Hartree.
    """
    fock = np.asarray(solver.get_fock(dm=solver.make_rdm1()))
    fock = 0.5 * (fock + np.conj(np.swapaxes(fock, 1, 2)))
    overlap = np.asarray(solver.cell.pbc_intor("int1e_ovlp", hermi=1, kpts=solver.kpts)).reshape(fock.shape)
    return (matrix_to_canonical(fock, numbers, basis, "pyscf"),
            matrix_to_canonical(overlap, numbers, basis, "pyscf"))


def compute_periodic_labels(structure: Structure, settings: PeriodicLabelSettings,
                            basis: OrbitalBasis, *, imag_tolerance: float = 1e-6) -> PeriodicLabels:
    """Run the k-mesh SCF and return H(R), S(R) and scalars in the canonical convention.

    Args:
        structure: The periodic structure (Angstrom).
        settings: Functional, basis, pseudopotential, k-mesh, convergence, truncation.
        basis: The store's basis; must match PySCF's shells for these elements.
        imag_tolerance: Largest acceptable imaginary part of the BvK matrices (Hartree).

    Returns:
        The labels (also when the SCF did not converge: check ``converged``).

    Raises:
        ValueError: Non-periodic structure, open shell, basis mismatch, k-mesh along a
            non-periodic axis, or an imaginary part above ``imag_tolerance``.
    """
    solver, kpoints = run_krks(structure, settings)
    cell = solver.cell
    check_basis(cell, structure.numbers, basis)
    numbers = structure.numbers
    matrices_k = list(bloch_labels(solver, numbers, basis))
    translations, (hamiltonian, overlap_r) = real_space_matrices(
        matrices_k, kpoints, structure, settings.kmesh, orbital_atoms(numbers, basis),
        max_distance=settings.max_distance, imag_tolerance=imag_tolerance)
    return PeriodicLabels(
        translations=translations,
        hamiltonian=hamiltonian,
        overlap=overlap_r,
        fermi_level=fermi_level(solver, int(cell.nelectron)),
        n_electrons=int(cell.nelectron),
        energy=float(solver.e_tot),
        converged=bool(solver.converged),
        cycles=int(getattr(solver, "cycles", -1)),
        solver=solver,
        kpoints=kpoints,
    )


# --------------------------------------------------------------------- checks
@dataclass(frozen=True)
class BandCheck:
    """Band energies of H(R), S(R) against PySCF's, at k-points off the SCF mesh.

    Attributes:
        occupied_mev: Max |deviation| over the n_electrons/2 lowest bands, meV.
        unoccupied_mev: Max |deviation| over the next ``n_unoccupied`` bands, meV.
        reference: PySCF's band energies, (n_k, n_bands) Hartree.
        interpolated: Band energies of the real-space matrices, (n_k, n_bands) Hartree.
    """

    occupied_mev: float
    unoccupied_mev: float
    reference: np.ndarray
    interpolated: np.ndarray


def generalized_eigenvalues(hamiltonian_k: np.ndarray, overlap_k: np.ndarray) -> np.ndarray:
    """Eigenvalues of H(k) c = e S(k) c, (n_k, n) ascending.

    Raises:
        ValueError: An S(k) that is not positive definite.
    """
    try:
        factor = np.linalg.cholesky(overlap_k)
    except np.linalg.LinAlgError:
        raise ValueError("S(k) is not positive definite: the real-space overlap is not a valid "
                         "Gram matrix (wrong phases or translations?)") from None
    inverse = np.linalg.inv(factor)
    reduced = inverse @ hamiltonian_k @ np.conj(np.swapaxes(inverse, -1, -2))
    return np.linalg.eigvalsh(reduced)


def band_check(labels: PeriodicLabels, kpoints_band: np.ndarray, n_unoccupied: int = 4,
               *, translations: np.ndarray | None = None, hamiltonian: np.ndarray | None = None,
               overlap: np.ndarray | None = None) -> BandCheck:
    """Compare band energies from the stored H(R), S(R) with ``solver.get_bands``.

    PySCF's bands are the eigenvalues of the Kohn-Sham matrix of the converged density
    built directly at ``kpoints_band``; the interpolated bands come from the Bloch sums of
    the (truncated, Wigner-Seitz-assigned) real-space matrices. The difference is the
    truncation error of the real-space representation.

    Args:
        labels: Result of :func:`compute_periodic_labels` (with its ``solver``).
        kpoints_band: (n_k, 3) reduced k-points, typically off the SCF mesh.
        n_unoccupied: Unoccupied bands compared above the occupied ones.
        translations, hamiltonian, overlap: Replace the labels' real-space matrices (to
            check modified matrices, e.g. in negative controls).

    Returns:
        The deviations.
    """
    solver = labels.solver
    if solver is None:
        raise ValueError("band_check needs the labels' PySCF solver (compute_periodic_labels sets it)")
    kpoints_band = np.asarray(kpoints_band, dtype=np.float64).reshape(-1, 3)
    reference = np.asarray(solver.get_bands(absolute_kpoints(solver.cell, kpoints_band))[0])
    translations = labels.translations if translations is None else translations
    hamiltonian = labels.hamiltonian if hamiltonian is None else hamiltonian
    overlap = labels.overlap if overlap is None else overlap
    interpolated = generalized_eigenvalues(bloch_matrices(translations, hamiltonian, kpoints_band),
                                           bloch_matrices(translations, overlap, kpoints_band))
    n_occupied = labels.n_electrons // 2
    top = min(n_occupied + n_unoccupied, reference.shape[1])
    deviation = np.abs(interpolated[:, :top] - reference[:, :top]) * HARTREE_TO_MEV
    return BandCheck(
        occupied_mev=float(deviation[:, :n_occupied].max()),
        unoccupied_mev=float(deviation[:, n_occupied:top].max()) if top > n_occupied else 0.0,
        reference=reference,
        interpolated=interpolated,
    )
