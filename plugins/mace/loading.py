"""Importing mace-torch lazily and building its modules in float64, quietly."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from hamkit.errors import HamkitError


@contextmanager
def _building(dtype: torch.dtype) -> Iterator[None]:
    """Default dtype ``dtype`` and no TorchScript chatter while e3nn/MACE modules are built."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The TorchScript type system", category=UserWarning)
            warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated", category=DeprecationWarning)
            yield
    finally:
        torch.set_default_dtype(previous)


def import_mace_modules() -> Any:
    """Import ``mace.modules`` and undo mace's process-wide ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``.

    mace's import-time notice (no cuequivariance acceleration) is kept off stdout.

    Raises:
        HamkitError: mace-torch is not installed.
    """
    key = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
    before = os.environ.get(key)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import mace.modules as modules
    except ImportError as error:
        raise HamkitError(f"the mace featurizer needs mace-torch (pip install mace-torch): {error}") from None
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before
    return modules
