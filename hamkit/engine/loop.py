"""The training loop: seeded batches, one optimizer step per batch.

This is the first, minimal engine (AdamW, fixed learning rate, no checkpoints);
schedules, EMA, checkpoints, resume and distributed training build on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.progress import TextColumn
from torch_geometric.data import Data

from hamkit.engine.batches import collate, targets_of
from hamkit.engine.objective import Objective
from hamkit.engine.progress import progress_bar
from hamkit.recipe.schema import TrainSection


@dataclass
class TrainingHistory:
    """Per-step records of a run.

    Attributes:
        steps: Step numbers (1-based).
        losses: Total loss per step.
        parts: Unweighted loss terms per step.
        seconds: Wall time of the whole loop.
        structures: Structures seen.
    """

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    structures: int = 0


def seeded_batches(n_items: int, batch_size: int, seed: int) -> Iterator[np.ndarray]:
    """Endless epochs of shuffled index batches, reproducible for a seed."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n_items)
        for start in range(0, n_items, batch_size):
            yield order[start:start + batch_size]


def train_steps(
    model: torch.nn.Module,
    objective: Objective,
    graphs: Sequence[Data],
    train: TrainSection,
    device: torch.device,
) -> TrainingHistory:
    """Optimize ``model`` for ``train.steps`` steps.

    Args:
        model: The assembled model.
        objective: The weighted loss terms.
        graphs: Training graphs.
        train: The recipe's train section (steps, batch_size, lr, seed, dtype).
        device: Where the model lives.

    Returns:
        The loss history.
    """
    dtype = getattr(torch, train.dtype)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr)
    batches = seeded_batches(len(graphs), train.batch_size, train.seed)
    history = TrainingHistory()
    model.train()
    start = time.perf_counter()
    loss_column = TextColumn("loss {task.fields[loss]:.3e}")
    rate_column = TextColumn("{task.fields[rate]:.1f} struct/s")
    with progress_bar(loss_column, rate_column) as progress:
        task = progress.add_task("training", total=train.steps, loss=float("nan"), rate=0.0)
        for step in range(1, train.steps + 1):
            batch = collate([graphs[i] for i in next(batches)], dtype, device)
            optimizer.zero_grad(set_to_none=True)
            total, parts = objective(model(batch), targets_of(batch))
            total.backward()
            optimizer.step()
            history.steps.append(step)
            history.losses.append(float(total.detach()))
            history.parts.append(parts)
            history.structures += batch.num_graphs
            rate = history.structures / (time.perf_counter() - start)
            progress.update(task, advance=1, loss=history.losses[-1], rate=rate)
    history.seconds = time.perf_counter() - start
    return history
