"""Dataset reader ``deeph``: processed DeepH folders (OpenMX order, eV), and their writer.

Recipe example::

    dataset:
      name: deeph
      path: ~/data/deeph_processed     # a folder of DeepH folders, or one folder

Folders with only R = (0, 0, 0) blocks become molecule records; folders with hoppings to
other cells become periodic records with H(R) and S(R) (canonical order, Hartree; see
:mod:`hamkit_plugins.deeph.dataset`). :func:`write_deeph_folder` writes either back, and
``hamkit deeph-predict`` writes a trained model's predictions in that layout.
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.deeph.dataset import DeepHConfig, DeepHDataset
from hamkit_plugins.deeph.folder import HARTREE_EV
from hamkit_plugins.deeph.writer import write_deeph_folder

__all__ = ["HARTREE_EV", "DeepHConfig", "DeepHDataset", "write_deeph_folder"]


@hookimpl
def hamkit_register_dataset(register):
    """Register ``deeph``."""
    register(DeepHDataset)


@hookimpl
def hamkit_add_commands(commands):
    """Add ``hamkit deeph-predict`` (predictions written as DeepH folders)."""
    from hamkit_plugins.deeph.predict_command import add_deeph_commands

    add_deeph_commands(commands)
