"""Unpickling the values of a processed QH9 LMDB without running arbitrary code.

The processed QH9 files store each record as a pickled dict. Unpickling can run any code
the pickle names, so hamkit (1) only reads LMDB files the user names in the ``path``
option, and (2) unpickles with an allow-list: plain containers, bytes, numbers, strings
and numpy arrays/scalars. Any other global (``os.system``, a class, ...) is refused with a
:class:`pickle.UnpicklingError`.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

_NUMPY_CORE = "numpy._core" if hasattr(np, "_core") else "numpy.core"

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),  # arrays pickled with protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes pickled with protocol <= 2
})
"""``(module, name)`` pairs a QH9 value may reference; everything else is refused."""


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refused to unpickle global {module}.{name}: only numpy arrays, bytes, numbers "
                "and plain containers are allowed in a QH9 record"
            )
        if module.startswith("numpy.core") or module.startswith("numpy._core"):
            module = _NUMPY_CORE + module[module.index(".", len("numpy.")):]
        return super().find_class(module, name)


def loads_restricted(data: bytes) -> Any:
    """Unpickle ``data`` allowing only the globals in :data:`ALLOWED_GLOBALS`.

    Args:
        data: One pickled value.

    Returns:
        The object.

    Raises:
        pickle.UnpicklingError: A refused global, or damaged data (other exceptions of
            damaged data, e.g. ``EOFError``, pass through too).
    """
    return _AllowListUnpickler(io.BytesIO(data)).load()
