"""Safe deserialization with torch, and the one compatibility fix e3nn needs.

e3nn 0.4.4 loads a constants file with ``torch.load`` at import time. Since
torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and refuses the
``slice`` objects stored in that file, so ``import e3nn.o3`` fails. The fix is
to allow-list ``slice`` (a harmless builtin) for weights-only loading. It is
applied exactly once, when :mod:`hamkit` is imported.

The tempting alternative, ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (which
mace-torch sets for the whole process on import), turns safe loading off for
every implicit ``torch.load`` call. hamkit therefore always passes
``weights_only=True`` explicitly through :func:`load_weights_only`, which that
environment variable cannot override.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from hamkit.errors import HamkitError

_E3NN_SAFE_GLOBALS: list[Any] = [slice]


def allow_e3nn_constants() -> None:
    """Allow-list the builtins e3nn's constants file needs for weights-only loading.

    Idempotent: torch keeps a set of safe globals, so calling it twice is harmless.
    """
    torch.serialization.add_safe_globals(_E3NN_SAFE_GLOBALS)


class UnsafeCheckpointError(HamkitError):
    """A file holds pickled Python objects that weights-only loading refuses."""


def load_weights_only(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a torch file with ``weights_only=True``, whatever the environment says.

    Args:
        path: File written by ``torch.save`` holding tensors, numbers, strings and
            plain containers only.
        map_location: Where to put the tensors.

    Returns:
        The loaded object.

    Raises:
        UnsafeCheckpointError: The file contains arbitrary pickled objects.
        FileNotFoundError: The file does not exist.
    """
    try:
        return torch.load(Path(path), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f"{path}: refused to load: the file contains pickled Python objects, which "
            "hamkit never executes. Re-save it with tensors and plain containers only "
            f"(torch said: {str(error).splitlines()[0]})"
        ) from None
