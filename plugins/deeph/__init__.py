"""Dataset reader ``deeph``: processed DeepH folders (OpenMX order, eV), and their writer.

Recipe example::

    dataset:
      name: deeph
      path: ~/data/deeph_processed     # a folder of DeepH folders, or one folder

Molecular use for now: records hold the R = (0, 0, 0) blocks as H and S (canonical,
Hartree); R != 0 hoppings are kept in ``record.extras`` (see
:mod:`hamkit_plugins.deeph.dataset`). :func:`write_deeph_folder` writes a record back.
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
