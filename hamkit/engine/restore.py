"""A trained model back from its run directory, without the training dataset.

:func:`load_trained_model` takes a run directory (``checkpoints/best.pt`` when present,
else ``checkpoints/last.pt``) or a checkpoint file inside one, rebuilds the model from
``recipe.yaml`` and ``model_info.json`` (basis, species, dtype), loads the EMA weights
when the checkpoint has them (else the raw ``"model"`` weights) and puts it in eval mode.
The dataset the run was trained on is never opened, so a run directory copied to another
machine predicts without its data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import BuildContext
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import structure_graph
from hamkit.data.structure import Structure
from hamkit.engine.checkpoint import load_checkpoint
from hamkit.engine.run import load_run_recipe
from hamkit.engine.run_layout import CHECKPOINT_PREFERENCE, RECIPE_FILE, ModelInfo, RunLayout
from hamkit.errors import HamkitError
from hamkit.model import build_model
from hamkit.model.assembly import HamiltonianModel
from hamkit.recipe import ResolvedRecipe

_EMA_PREFIX = "module."
_EMA_COUNTER = "n_averaged"


@dataclass
class TrainedModel:
    """A model rebuilt from a run directory, ready to predict.

    Attributes:
        model: The assembled model, eval mode, on ``device``.
        recipe: The resolved recipe it was trained with.
        basis: The orbital basis of its predictions (canonical order, Hartree).
        species: Atomic numbers it was built for.
        dtype: Parameter dtype.
        device: Where it lives.
        pair_cutoff: Pair cutoff of its graphs (Angstrom), None for fully connected.
        run_dir: The run directory.
        checkpoint: The checkpoint file the weights came from.
        weights: ``"ema"`` or ``"model"``: which weights were loaded.
        step: Training step of the checkpoint (None when not recorded).
        largest_training_atoms: Atoms of the largest training structure, from
            ``model_info.json`` (None for runs that did not record it).
    """

    model: HamiltonianModel
    recipe: ResolvedRecipe
    basis: OrbitalBasis
    species: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device
    pair_cutoff: float | None
    run_dir: Path
    checkpoint: Path
    weights: str
    step: int | None
    largest_training_atoms: int | None = None

    @property
    def batch_size(self) -> int:
        """The training batch size (a sensible default for prediction batches)."""
        return int(self.recipe.sections.train.batch_size)

    def check_elements(self, numbers: Sequence[int] | np.ndarray, where: str) -> None:
        """Fail clearly when a structure has an element the model's basis lacks.

        Args:
            numbers: Atomic numbers of the structure.
            where: What the structure is, for the message (e.g. ``"mol.xyz frame 2"``).

        Raises:
            HamkitError: Naming the missing elements and what the model covers.
        """
        missing = sorted(set(np.asarray(numbers).tolist()) - set(self.basis.elements))
        if missing:
            raise HamkitError(
                f"{where}: element(s) {_symbols(missing)} are not in the model's basis "
                f"'{self.basis.name}' (the model covers {_symbols(self.basis.elements)})"
            )

    def graph(self, structure: Structure, where: str = "structure") -> Data:
        """The prediction graph of one structure, as training builds it (same cutoff).

        Raises:
            HamkitError: An element of the structure is not in the model's basis.
        """
        self.check_elements(structure.numbers, where)
        return structure_graph(structure, self.basis, self.pair_cutoff)


def _symbols(numbers: Sequence[int]) -> str:
    from pyscf.data import elements

    return ", ".join(f"{elements.ELEMENTS[z]} (Z={z})" for z in numbers)


def resolve_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """The run directory and checkpoint file a user's path means.

    Args:
        path: A run directory, or a checkpoint file inside one (``RUN/checkpoints/x.pt``
            or ``RUN/x.pt``).

    Returns:
        ``(run_dir, checkpoint_file)``.

    Raises:
        HamkitError: No such path, not a run directory, or no checkpoint in it.
    """
    path = Path(path)
    if not path.exists():
        raise HamkitError(f"{path}: no such run directory or checkpoint file")
    if path.is_dir():
        layout = RunLayout(path)
        if not layout.is_run_directory:
            raise HamkitError(
                f"{path}: not a hamkit run directory (no {RECIPE_FILE}); give the folder "
                "'hamkit train --out' wrote, or a checkpoint file inside it"
            )
        for candidate in layout.checkpoint_preference:
            if candidate.is_file():
                return path, candidate
        raise HamkitError(
            f"{path}: the run directory has no checkpoint ({' or '.join(CHECKPOINT_PREFERENCE)}); "
            "training has not saved one yet"
        )
    for folder in (path.parent, path.parent.parent):
        if RunLayout(folder).is_run_directory:
            return folder, path
    raise HamkitError(
        f"{path}: the checkpoint is not inside a hamkit run directory (no {RECIPE_FILE} in "
        f"{path.parent} or {path.parent.parent}); the model is rebuilt from the run's recipe"
    )


def model_weights(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], str]:
    """The weights to predict with: the EMA average when present, else the raw model.

    Args:
        state: A loaded checkpoint; ``state["ema"]`` is an ``AveragedModel`` state dict
            (keys ``module.<name>`` plus ``n_averaged``) or None.

    Returns:
        ``(state_dict for the bare model, "ema" | "model")``.
    """
    ema = state.get("ema")
    if isinstance(ema, dict) and ema and int(ema.get(_EMA_COUNTER, 1)) > 0:
        weights = {key[len(_EMA_PREFIX):]: value for key, value in ema.items()
                   if key.startswith(_EMA_PREFIX)}
        return weights, "ema"
    return state["model"], "model"


def load_trained_model(path: str | Path, device: str | torch.device = "cpu") -> TrainedModel:
    """Rebuild a trained model from its run directory.

    Args:
        path: A run directory (uses ``checkpoints/best.pt`` if present, else
            ``checkpoints/last.pt``) or a checkpoint file inside a run directory.
        device: Where to put the model.

    Returns:
        The :class:`TrainedModel`, in eval mode.

    Raises:
        HamkitError: Not a run directory, missing/unreadable ``model_info.json``,
            missing or corrupt checkpoint, or weights that do not fit the rebuilt model.
    """
    run_dir, checkpoint = resolve_checkpoint(path)
    recipe = load_run_recipe(run_dir)
    layout = RunLayout(run_dir)
    info = ModelInfo.read(layout.model_info)
    state = load_checkpoint(checkpoint)
    context = BuildContext(species=info.species, basis=info.basis, dtype=info.dtype)
    model = build_model(recipe, context)
    weights, which = model_weights(state)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())[:500]
        raise HamkitError(
            f"{checkpoint}: the weights do not fit the model rebuilt from {layout.recipe} "
            f"(was the recipe edited after training?): {detail}"
        ) from None
    device = torch.device(device)
    model = model.to(device).eval()
    cutoff = model.featurizer.pair_cutoff
    recorded = info.pair_cutoff
    if recorded != cutoff and not (recorded is not None and cutoff is not None
                                   and abs(float(recorded) - float(cutoff)) < 1e-12):
        raise HamkitError(
            f"{layout.model_info}: records pair_cutoff {recorded}, the rebuilt model has {cutoff}"
        )
    loop = state.get("loop") or {}
    return TrainedModel(
        model=model, recipe=recipe, basis=info.basis, species=info.species,
        dtype=getattr(torch, info.dtype), device=device, pair_cutoff=cutoff, run_dir=run_dir,
        checkpoint=checkpoint, weights=which, step=loop.get("step") if isinstance(loop, dict) else None,
        largest_training_atoms=info.largest_training_atoms,
    )
