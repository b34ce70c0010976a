"""Dataset reader ``md17``: SchNOrb / MD17 Hamiltonian databases (ASE, ORCA order, Hartree).

Recipe example::

    dataset:
      name: md17
      path: ~/data/schnorb_hamiltonian_ethanol_dft.db

Old files with base64-encoded arrays are decoded transparently. See
:mod:`hamkit_plugins.md17.dataset` for units, conventions and extras.
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.md17.dataset import Md17Config, Md17Dataset

__all__ = ["Md17Config", "Md17Dataset"]


@hookimpl
def hamkit_register_dataset(register):
    """Register ``md17``."""
    register(Md17Dataset)
