"""Dataset reader ``qh9``: QH9-stable and QH9-dynamic (SQLite databases or processed LMDB).

Recipe example::

    dataset:
      name: qh9
      path: ~/data/QH9Dynamic.db     # variant detected from the table's columns
      overlap_cache: user            # S recomputed with PySCF once, then read from the cache

See :mod:`hamkit_plugins.qh9.sources` for the layouts, :mod:`hamkit_plugins.qh9.dataset`
for units and extras, and :mod:`hamkit_plugins.qh9.overlap_cache` for the S cache.
Pickled LMDB values are read only from the file the user names, through an allow-list
unpickler (:mod:`hamkit_plugins.qh9.safe_pickle`).
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.qh9.dataset import Qh9Config, Qh9Dataset

__all__ = ["Qh9Config", "Qh9Dataset"]


@hookimpl
def hamkit_register_dataset(register):
    """Register ``qh9``."""
    register(Qh9Dataset)
