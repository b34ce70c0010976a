"""Training runs: a run directory, the trainer with its callbacks, resume, and the final test.

A run directory holds everything needed to resume, evaluate and predict; its files are
listed, and named, by :mod:`hamkit.engine.run_layout`.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
import yaml

from hamkit.engine import callbacks as cb
from hamkit.engine.checkpoint import load_checkpoint
from hamkit.engine.distributed import DistributedContext
from hamkit.engine.evaluation import evaluate_split
from hamkit.engine.loaders import chunk_loader
from hamkit.engine.objective import Objective
from hamkit.engine.plots import plot_learning_curves, plot_orbital_energies
from hamkit.engine.prepare import RecordGraphs, build_context, prepare_data, report_warnings, split_graphs
from hamkit.engine.run_layout import RECIPE_FILE, ModelInfo, RunLayout
from hamkit.engine.run_lock import RunLock
from hamkit.engine.threads import apply_threads, choose_threads
from hamkit.engine.trainer import LoopState, Trainer
from hamkit.errors import HamkitError
from hamkit.model import build_model
from hamkit.recipe import ResolvedRecipe, load_recipe
from hamkit.safe_output import atomic_file, remove_path

PACKAGES = ("hamkit", "torch", "e3nn", "mace-torch", "torch-geometric", "pyscf", "numpy", "pydantic")


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        run_dir: The run directory.
        loop: Final loop counters (steps, skipped steps, best validation).
        metrics: Test metrics (``{name: {"mean", "per_structure"}}``).
        n_parameters: Trainable parameters of the model.
        periodic: The test structures are crystals (errors read best in meV).
    """

    run_dir: Path
    loop: LoopState
    metrics: dict[str, dict]
    n_parameters: int
    periodic: bool = False


def pick_device(choice: str, distributed: DistributedContext) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise HamkitError("train.device is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if choice == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", distributed.local_rank)


def environment() -> dict[str, str]:
    """Versions of the packages a result depends on, and the machine."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {**versions, "python": sys.version.split()[0], "platform": platform.platform(),
            "cuda": torch.version.cuda or "none"}


def _write_json(path: Path, data: object) -> None:
    with atomic_file(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, default=str))


def check_replaceable(run_dir: Path) -> None:
    """``--overwrite`` may empty ``run_dir``: it is missing, empty, or a hamkit run directory.

    Raises:
        HamkitError: A file, or a non-empty folder that is not a run directory (it is never
            deleted: it may hold anything).
    """
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise HamkitError(f"--out {run_dir}: is a file, not a run directory; choose another --out")
    layout = RunLayout(run_dir)
    if any(entry.name != layout.lock.name for entry in run_dir.iterdir()) and not layout.is_run_directory:
        raise HamkitError(
            f"--out {run_dir}: is not empty and is not a hamkit run directory (no {RECIPE_FILE}); "
            "--overwrite only replaces run directories: choose another --out"
        )


def clear_run_directory(run_dir: Path) -> None:
    """Empty a run directory for ``--overwrite`` (the held lock file stays).

    Raises:
        HamkitError: See :func:`check_replaceable`.
    """
    check_replaceable(run_dir)
    lock = RunLayout(run_dir).lock
    for entry in run_dir.iterdir():
        if entry.name != lock.name:
            remove_path(entry)


def read_resume_state(run_dir: Path) -> dict:
    """The checkpoint a resume continues from (``last.pt``), read and verified.

    Raises:
        HamkitError: Missing, empty, truncated or damaged checkpoint.
    """
    path = RunLayout(run_dir).last_checkpoint
    if not path.is_file():
        raise HamkitError(
            f"{run_dir}: nothing to resume: no {path.relative_to(run_dir)} (training saved no checkpoint "
            "yet); start it again with 'hamkit train RECIPE --out DIR --overwrite'"
        )
    return load_checkpoint(path)


def restore_trainer(trainer: Trainer, state: dict, run_dir: Path) -> None:
    """Load a resume checkpoint into the trainer, with a clear error when it does not fit.

    Raises:
        HamkitError: A checkpoint written for another model or optimizer (another recipe,
            or an edited ``recipe.yaml``).
    """
    layout = RunLayout(run_dir)
    path = layout.last_checkpoint
    try:
        trainer.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError, TypeError) as error:
        detail = " ".join(str(error).split())[:400]
        raise HamkitError(
            f"{path}: the checkpoint does not fit the model and optimizer of {layout.recipe} "
            f"(written by another recipe, or the recipe was edited): {detail}"
        ) from None


def run_training(recipe: ResolvedRecipe, run_dir: Path, resume: bool = False,
                 distributed: DistributedContext | None = None, show_progress: bool = True,
                 extra_callbacks: Sequence[cb.Callback] = (), overwrite: bool = False) -> RunResult:
    """Train (or resume) the recipe's model, then evaluate on the test split.

    The main process holds the run directory's lock (:class:`RunLock`) throughout.

    Args:
        recipe: The resolved recipe.
        run_dir: Where everything is written (created).
        resume: Continue from ``run_dir/checkpoints/last.pt``.
        distributed: Rank and world size (default: one process).
        show_progress: Draw the progress bar.
        extra_callbacks: More callbacks, run after the built-in ones (e.g. a wall-time limit).
        overwrite: Empty an existing run directory first (a new run only).

    Raises:
        RunInUseError: Another process trains in ``run_dir``.
        HamkitError: Bad data, a checkpoint that cannot be resumed, and other user errors.
    """
    distributed = distributed or DistributedContext()
    if not distributed.is_main:
        return _run_training(recipe, run_dir, resume, distributed, show_progress, extra_callbacks)
    created = not run_dir.exists()
    try:
        with RunLock(run_dir):
            if overwrite and not resume:
                clear_run_directory(run_dir)
            return _run_training(recipe, run_dir, resume, distributed, show_progress, extra_callbacks)
    except BaseException:
        if created and not RunLayout(run_dir).last_checkpoint.exists():
            remove_path(run_dir)  # a new run that failed before its first checkpoint leaves nothing
        raise


def _run_training(recipe: ResolvedRecipe, run_dir: Path, resume: bool, distributed: DistributedContext,
                  show_progress: bool, extra_callbacks: Sequence[cb.Callback]) -> RunResult:
    train = recipe.sections.train
    resume_state = read_resume_state(run_dir) if resume else None  # fail before the data work
    torch.manual_seed(train.seed)
    device = pick_device(train.device, distributed)
    data = prepare_data(recipe, progress=distributed.is_main)
    if distributed.is_main:
        report_warnings(data.warnings)
    context = build_context(data.dataset, train.dtype, data.splits["train"], train.seed)
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    cutoff = model.featurizer.pair_cutoff
    graphs = split_graphs(data, cutoff)
    atoms = data.sizes[np.asarray(data.splits["train"], dtype=np.int64)]
    threads = choose_threads(train.threads, float(atoms.mean()) if len(atoms) else 0.0)
    apply_threads(threads)

    layout = RunLayout(run_dir)
    callbacks: list[cb.Callback] = []
    if distributed.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            with atomic_file(layout.recipe) as temporary:
                temporary.write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
            _write_json(layout.environment, environment())
            _write_json(layout.data, {
                "provenance": data.dataset.provenance,
                "splits": {name: len(indices) for name, indices in data.splits.items()}})
            ModelInfo(basis=data.dataset.basis, species=tuple(context.species), dtype=train.dtype,
                      pair_cutoff=cutoff, largest_training_atoms=data.largest_training_atoms,
                      ).write(layout.model_info)
        print(threads.describe(), flush=True)
        callbacks += [cb.MetricsLog(run_dir, train.log_every), cb.Checkpointing(run_dir, train.checkpoint_every)]
        if show_progress:
            callbacks.append(cb.ProgressCallback())
    if train.early_stopping:
        callbacks.append(cb.EarlyStopping(train.early_stopping))
    callbacks += list(extra_callbacks)

    trainer = Trainer(model, objective, graphs["train"], graphs["val"], train, device, callbacks, distributed)
    if resume_state is not None:
        restore_trainer(trainer, resume_state, run_dir)
    loop = trainer.fit()
    distributed.barrier()
    best = layout.best_checkpoint
    if best.exists():  # best-model selection: test the weights with the best validation
        trainer.load_state_dict(load_checkpoint(best))

    pairs = RecordGraphs(data.dataset, data.splits["test"], graphs["test"])
    chunks = chunk_loader(pairs, train.batch_size, train.num_workers, device)
    test = evaluate_split(trainer.evaluation_model, chunks, getattr(torch, train.dtype), device,
                          data.dataset.basis, levels=distributed.is_main)
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if distributed.is_main:
        _write_json(layout.test_metrics, {
            "weights": "best" if best.exists() else "last", "step": loop.step, "skipped_steps": loop.skipped,
            "best_val_h_mae": loop.best_value, "n_parameters": n_parameters, "test": test.metrics})
        plot_learning_curves(run_dir)
        if test.predicted_levels:
            plot_orbital_energies(run_dir, test.predicted_levels, test.reference_levels)
    return RunResult(run_dir, loop, test.metrics, n_parameters, test.periodic)


def load_run_recipe(run_dir: Path) -> ResolvedRecipe:
    """The resolved recipe a run directory was trained with.

    Raises:
        HamkitError: The folder is not a hamkit run directory.
    """
    layout = RunLayout(run_dir)
    if not layout.is_run_directory:
        raise HamkitError(f"{run_dir}: not a hamkit run directory (no {RECIPE_FILE})")
    return load_recipe(layout.recipe)
