"""Moved to :mod:`hamkit.labelling.dask_cluster_config`; this old path is kept importable.

The old name is the same module object (not a copy), so attributes set through either
path are seen by both.
"""

import sys

from hamkit.labelling import dask_cluster_config as _moved

sys.modules[__name__] = _moved
