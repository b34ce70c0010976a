"""Dataset readers: ``hamkit`` (hamkit's own HDF5 store, including the embedded sets).

Embedded sets ship in ``embedded/`` and are addressed as ``path: embedded:water`` or
``path: embedded:qm9_mini`` (see ``embedded/README.md`` for how they were made).
"""

from hamkit.hookspecs import hookimpl
from hamkit_plugins.datasets.hamkit_store import HamkitStoreDataset, open_dataset

__all__ = ["HamkitStoreDataset", "open_dataset"]


@hookimpl
def hamkit_register_dataset(register):
    """Register ``hamkit``."""
    register(HamkitStoreDataset)
