"""One training run: recipe in, trained model and test metrics out, in a run directory."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

import hamkit
from hamkit.engine.evaluation import evaluate_split
from hamkit.engine.loop import TrainingHistory, train_steps
from hamkit.engine.objective import Objective
from hamkit.engine.prepare import build_context, make_graphs, prepare_data
from hamkit.errors import HamkitError
from hamkit.model import build_model
from hamkit.recipe import ResolvedRecipe


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        out_dir: The run directory.
        history: Training losses.
        metrics: Test metrics (``{name: {"mean", "per_structure"}}``).
        n_parameters: Trainable parameters of the model.
    """

    out_dir: Path
    history: TrainingHistory
    metrics: dict[str, dict]
    n_parameters: int


def pick_device(choice: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise HamkitError("train.device is 'cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def run_recipe(recipe: ResolvedRecipe, out_dir: Path) -> RunResult:
    """Train the recipe's model and evaluate it on the test split.

    Writes ``recipe.yaml`` (resolved), ``history.json``, ``metrics.json`` and
    ``model.pt`` (a state dict: tensors only) into ``out_dir``.
    """
    train = recipe.sections.train
    torch.manual_seed(train.seed)
    device = pick_device(train.device)
    dtype = getattr(torch, train.dtype)
    data = prepare_data(recipe)
    context = build_context(data.dataset, train.dtype)
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    cutoff = getattr(model.featurizer, "pair_cutoff", None)
    train_graphs = make_graphs(data.dataset, data.splits["train"], cutoff, "train")
    test_graphs = make_graphs(data.dataset, data.splits["test"], cutoff, "test")

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(out_dir / "recipe.yaml", yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    history = train_steps(model, objective, train_graphs, train, device)
    metrics = evaluate_split(model, data.dataset, data.splits["test"], test_graphs, dtype, device,
                             train.batch_size)
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    _write_atomically(out_dir / "history.json", json.dumps(
        {"steps": history.steps, "loss": history.losses, "parts": history.parts,
         "seconds": history.seconds, "structures": history.structures}))
    _write_atomically(out_dir / "metrics.json", json.dumps(
        {"hamkit": hamkit.__version__, "n_parameters": n_parameters, "test": metrics}, indent=2))
    temporary = out_dir / "model.pt.tmp"
    torch.save(model.state_dict(), temporary)
    os.replace(temporary, out_dir / "model.pt")
    return RunResult(out_dir, history, metrics, n_parameters)
