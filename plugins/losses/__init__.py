"""Hamiltonian loss terms: element-wise MSE and MAE on the packed blocks."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.losses.elementwise import HamiltonianMAE, HamiltonianMSE


@hookimpl
def hamkit_register_loss(register):
    """Register ``h_mse`` and ``h_mae``."""
    register(HamiltonianMSE)
    register(HamiltonianMAE)
