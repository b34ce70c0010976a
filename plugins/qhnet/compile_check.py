"""Build-time check that ``compile: true`` can work: torch.compile on CPU needs a C++ compiler.

QHNet's ``compile`` option runs the tensor products through ``torch.compile`` (inductor). On
CPU, inductor generates C++ and compiles it with the compiler it finds in
``torch._inductor.config.cpp.cxx`` (by default ``(None, $CXX or "g++")``; ``None`` stands for a
g++ it downloads through conda, which it only does on Linux with ``TORCH_INDUCTOR_INSTALL_GXX``
set); it runs each candidate's ``--version`` and uses the first that runs. Without one, torch
fails only at the first forward pass, with a long error of its own. :func:`check_cpu_compiler`
looks for the same candidates on ``PATH`` when the model is built, and fails early with a
hamkit message instead. On CUDA, inductor uses triton, and nothing is checked.
"""

from __future__ import annotations

import os
import sys
from shutil import which

import torch

from hamkit.errors import HamkitError

OPTION = "model.featurizer.compile"


def inductor_cxx_candidates() -> tuple[str | None, ...]:
    """The compilers inductor tries on CPU, in its order (``torch._inductor.config.cpp.cxx``).

    ``None`` stands for the g++ inductor installs through conda (see the module docstring).
    """
    from torch._inductor import config

    cxx = config.cpp.cxx
    return tuple(cxx) if isinstance(cxx, (list, tuple)) else (cxx,)


def find_cpp_compiler() -> str | None:
    """The first of :func:`inductor_cxx_candidates` that is an executable (name on ``PATH`` or a
    path), as inductor would pick it; ``"conda g++"`` when none is but inductor may install one
    (Linux, ``TORCH_INDUCTOR_INSTALL_GXX`` set); None when inductor would find no compiler."""
    may_install = False
    for candidate in inductor_cxx_candidates():
        if candidate is None:
            may_install = may_install or (sys.platform == "linux" and bool(os.getenv("TORCH_INDUCTOR_INSTALL_GXX")))
            continue
        found = which(candidate)
        if found is not None:
            return found
    return "conda g++" if may_install else None


def check_cpu_compiler(device: str | torch.device | None = None) -> None:
    """Raise a :class:`HamkitError` if ``compile: true`` cannot work on ``device`` for want of a
    C++ compiler (CPU only; on CUDA inductor uses triton and nothing is checked).

    Args:
        device: Where the model will run; None: CUDA when available, else CPU (as the
            ``device: auto`` of recipes picks).

    Raises:
        HamkitError: On CPU, and no compiler that inductor tries is found.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type != "cpu":
        return
    if find_cpp_compiler() is not None:
        return
    tried = ", ".join(c for c in inductor_cxx_candidates() if c is not None) or "nothing"
    raise HamkitError(
        f"{OPTION}: true needs a C++ compiler for torch.compile on CPU (none found: tried {tried}, "
        "as inductor does); install one (e.g. apt install g++, or point the CXX environment "
        "variable at one) or set compile: false"
    )
