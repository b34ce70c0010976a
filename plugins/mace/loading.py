"""Importing mace-torch lazily and building its MACE backbone in float64, quietly."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.errors import HamkitError
from hamkit_plugins.mace.config import MACEConfig
from hamkit_plugins.mace.layers import degree_irreps

if TYPE_CHECKING:
    from mace.modules import MACE


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


def build_mace_backbone(config: MACEConfig, species: tuple[int, ...]) -> MACE:
    """A ``mace.modules.MACE`` with hidden irreps of every degree and no energy readouts.

    Args:
        config: The featurizer's options.
        species: Atomic numbers MACE embeds, sorted.

    Returns:
        The MACE module, in the current default dtype.
    """
    modules = import_mace_modules()
    import numpy as np

    model = modules.MACE(
        r_max=config.cutoff,
        num_bessel=config.num_radial,
        num_polynomial_cutoff=config.num_polynomial_cutoff,
        max_ell=config.max_ell,
        interaction_cls=modules.RealAgnosticResidualInteractionBlock,
        interaction_cls_first=modules.RealAgnosticInteractionBlock,
        num_interactions=config.num_interactions,
        num_elements=len(species),
        hidden_irreps=degree_irreps(config.channels, config.lmax, config.symmetry),
        MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.zeros(len(species)),
        avg_num_neighbors=config.avg_num_neighbors,
        atomic_numbers=list(species),
        correlation=config.correlation,
        gate=torch.nn.functional.silu,
        radial_MLP=list(config.radial_mlp),
        radial_type=config.radial_type,
        use_so3=config.symmetry == "so3",
        keep_last_layer_irreps=True,
    )
    model.readouts = torch.nn.ModuleList()  # energy readouts: unused parameters
    return model
