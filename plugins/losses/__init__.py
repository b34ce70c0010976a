"""Loss terms: element-wise MSE and MAE on the packed blocks, and the TraceGrad trace loss."""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.losses.elementwise import HamiltonianMAE, HamiltonianMSE
from hamkit_plugins.losses.trace import TraceLoss


@hookimpl
def hamkit_register_loss(register):
    """Register ``h_mse``, ``h_mae`` and ``trace``."""
    register(HamiltonianMSE)
    register(HamiltonianMAE)
    register(TraceLoss)
