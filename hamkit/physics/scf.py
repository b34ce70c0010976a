"""DFT acceleration: SCF cycles when starting from a (predicted) Hamiltonian.

The guess density is built from the ``n_occ`` lowest orbitals of ``H_guess C = S C eps``
with the molecule's true overlap S: ``D = 2 C_occ C_occ^T``. The cycle count is PySCF's
``mf.cycles`` (the number of Fock builds + diagonalizations of the SCF loop). QH9 reports the
ratio ``cycles_guess / cycles_minao``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hamkit.physics.eigen import DEFAULT_OVERLAP_THRESHOLD, occupied_count, solve_generalized_eigen


@dataclass(frozen=True)
class SCFCycleComparison:
    """Result of :func:`scf_cycles_from_guess`.

    Attributes:
        cycles_guess: SCF cycles starting from the guess Hamiltonian's density.
        cycles_minao: SCF cycles starting from PySCF's 'minao' guess.
        converged_guess: Whether the run from the guess converged.
        converged_minao: Whether the minao run converged.
        energy_guess: Final total energy (Hartree) of the guess run.
        energy_minao: Final total energy (Hartree) of the minao run.
    """

    cycles_guess: int
    cycles_minao: int
    converged_guess: bool
    converged_minao: bool
    energy_guess: float
    energy_minao: float

    @property
    def ratio(self) -> float:
        """``cycles_guess / cycles_minao``."""
        return self.cycles_guess / self.cycles_minao


def density_from_hamiltonian(
    hamiltonian: np.ndarray, overlap: np.ndarray, n_occupied: int, threshold: float = DEFAULT_OVERLAP_THRESHOLD
) -> np.ndarray:
    """Closed-shell density matrix ``2 C_occ C_occ^T`` (n, n) of a Hamiltonian and overlap."""
    _, coefficients = solve_generalized_eigen(hamiltonian, overlap, threshold)
    occupied = coefficients[:, :n_occupied]
    return 2.0 * occupied @ occupied.T


def _make_mean_field(mol: Any, xc: str | None, conv_tol: float, max_cycle: int) -> Any:
    from pyscf import dft, scf

    if xc is None or xc.lower() in ("hf", "rhf"):
        mf = scf.RHF(mol)
    else:
        mf = dft.RKS(mol)
        mf.xc = xc
    mf.conv_tol = conv_tol
    mf.max_cycle = max_cycle
    mf.verbose = 0
    return mf


def _run(mf: Any, dm0: np.ndarray | None) -> tuple[int, bool, float]:
    counted = {"cycles": 0}

    def count(_: dict) -> None:
        counted["cycles"] += 1

    mf.callback = count
    energy = mf.kernel(dm0=dm0)
    cycles = int(getattr(mf, "cycles", counted["cycles"]) or counted["cycles"])
    return cycles, bool(mf.converged), float(energy)


def scf_cycles_from_guess(
    mol: Any,
    h_guess_pyscf_order: np.ndarray,
    xc: str | None = None,
    conv_tol: float = 1e-9,
    max_cycle: int = 100,
) -> SCFCycleComparison:
    """SCF cycles from a guess Hamiltonian versus from the 'minao' guess.

    Args:
        mol: Built closed-shell ``pyscf.gto.Mole``.
        h_guess_pyscf_order: (nao, nao) guess H in PySCF's orbital order (convert with
            :func:`hamkit.physics.orbital_order.matrix_from_canonical` (..., ``"pyscf"``)).
        xc: ``None``/``"hf"`` for RHF, else an exchange-correlation functional for RKS
            (``"b3lyp5"`` reproduces QH9 labels).
        conv_tol: Energy convergence threshold (Hartree).
        max_cycle: Cycle limit of each run.

    Returns:
        An :class:`SCFCycleComparison`.
    """
    overlap = mol.intor("int1e_ovlp")
    n_occupied = occupied_count(mol.atom_charges(), mol.charge)
    density = density_from_hamiltonian(h_guess_pyscf_order, overlap, n_occupied)
    guess = _run(_make_mean_field(mol, xc, conv_tol, max_cycle), density)
    minao_field = _make_mean_field(mol, xc, conv_tol, max_cycle)
    minao_field.init_guess = "minao"
    minao = _run(minao_field, None)
    return SCFCycleComparison(
        cycles_guess=guess[0],
        cycles_minao=minao[0],
        converged_guess=guess[1],
        converged_minao=minao[1],
        energy_guess=guess[2],
        energy_minao=minao[2],
    )
