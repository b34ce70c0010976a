"""Moved to :mod:`hamkit.labelling.pyscf_labels`; this old path is kept importable.

The old name is the same module object (not a copy), so attributes set through either
path are seen by both.
"""

import sys

from hamkit.labelling import pyscf_labels as _moved

sys.modules[__name__] = _moved
