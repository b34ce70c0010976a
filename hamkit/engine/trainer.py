"""The one training loop, with callbacks for everything around it.

The loop does: pick the batch (a pure function of the step), forward, loss,
backward (accumulating ``train.accumulate`` batches), skip the step when the loss
or a gradient is not finite, clip, step, update the EMA, validate every
``train.eval_every`` steps. Progress, logs, checkpoints, early stopping and plots
are :class:`Callback` objects (:mod:`hamkit.engine.callbacks`).
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch_geometric.data import Batch, Data

from hamkit.data.graph_fields import HAMILTONIAN
from hamkit.engine.batches import collate, targets_of, to_model
from hamkit.engine.checkpoint import CHECKPOINT_VERSION, restore_rng_state, rng_state
from hamkit.engine.data_order import batch_indices, shard
from hamkit.engine.distributed import DistributedContext
from hamkit.engine.loaders import BatchPlan, chunk_loader, worker_options
from hamkit.engine.objective import Objective
from hamkit.engine.optim import Schedule, build_optimizer
from hamkit.engine.prepare import Indexed
from hamkit.errors import HamkitError
from hamkit.recipe.schema import TrainSection

MICRO_HARTREE = 1e6


def is_out_of_memory(error: BaseException) -> bool:
    """True for CUDA and CPU allocation failures."""
    text = str(error).lower()
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


@dataclass
class LoopState:
    """Counters of the loop, saved in checkpoints.

    Attributes:
        step: Optimizer steps completed (including skipped ones).
        bad_in_a_row: Consecutive steps skipped for non-finite values.
        skipped: Steps skipped in total.
        best_value: Best validation H MAE so far (micro-Hartree).
        best_step: Step of ``best_value``.
        stalled: Validations since the last improvement.
        structures: Training structures seen.
        seconds: Training wall time so far.
    """

    step: int = 0
    bad_in_a_row: int = 0
    skipped: int = 0
    best_value: float = math.inf
    best_step: int = 0
    stalled: int = 0
    structures: int = 0
    seconds: float = 0.0


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training at a step boundary, after the callbacks ran
    (so ``checkpoints/last.pt`` holds the last completed step)."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def graceful_stop(trainer: "Trainer") -> Iterator[None]:
    """Turn the first Ctrl-C / SIGTERM into a stop at the end of the current step.

    A second signal interrupts at once. Only the main thread of a single process can
    install signal handlers; elsewhere (and under torchrun, where ranks must stop at the
    same step) the default behaviour stays.
    """
    if threading.current_thread() is not threading.main_thread() or trainer.distributed.world_size > 1:
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def request_stop(number: int, frame: object) -> None:
        for other in STOP_SIGNALS:  # a second signal takes the default path
            signal.signal(other, signal.default_int_handler)
        trainer.interrupted = signal.Signals(number).name
        trainer.stop(f"interrupted by {trainer.interrupted}")

    for number in STOP_SIGNALS:
        signal.signal(number, request_stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Callback:
    """Hooks around the loop; override what you need. ``trainer.stop(reason)`` ends training."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first step (also after a resume)."""

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        """After every optimizer step; ``logs`` holds loss, its parts, lr, throughput."""

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """After each validation; ``metrics`` holds val_loss and val_h_mae (micro-Hartree)."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last step, or after a stop."""


class Trainer:
    """Trains a model on graphs as a recipe's train section says.

    Args:
        model: The assembled model (on ``device``).
        objective: Weighted loss terms.
        train_graphs: Training graphs.
        val_graphs: Validation graphs (may be empty: no validation).
        train: The recipe's train section.
        device: Where the model lives.
        callbacks: Progress, logging, checkpoints, ...
        distributed: Rank and world size when launched by torchrun.
    """

    def __init__(self, model: torch.nn.Module, objective: Objective, train_graphs: Indexed[Data],
                 val_graphs: Indexed[Data], train: TrainSection, device: torch.device,
                 callbacks: Sequence[Callback] = (), distributed: DistributedContext | None = None) -> None:
        self.model = model
        self.objective = objective
        self.train_graphs = train_graphs
        self.val_graphs = val_graphs
        self.train = train
        self.device = device
        self.dtype = getattr(torch, train.dtype)
        self.callbacks = list(callbacks)
        self.distributed = distributed or DistributedContext()
        self.network = self.distributed.wrap(model)
        self.optimizer = build_optimizer(model.parameters(), train)
        self.schedule = Schedule(self.optimizer, train)
        self.ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(train.ema_decay))
                    if train.ema_decay else None)
        self.state = LoopState()
        self.stop_reason = ""
        self.interrupted = ""
        self._loader: Iterator[Batch] | None = None
        self._loader_start = -1
        self._val_chunks: Iterable[list[Data]] | None = None

    @property
    def evaluation_model(self) -> torch.nn.Module:
        """The weights used for validation and evaluation (EMA when enabled)."""
        ema = self._started_ema()
        return ema.module if ema is not None else self.model

    @property
    def ema_started(self) -> bool:
        """The EMA exists and has averaged at least once (``train.ema_start`` reached)."""
        return self._started_ema() is not None

    def _started_ema(self) -> AveragedModel | None:
        """The EMA once it has averaged at least once, else None."""
        return self.ema if self.ema is not None and int(self.ema.n_averaged) > 0 else None

    def stop(self, reason: str) -> None:
        """Ask the loop to end after the current step."""
        self.stop_reason = reason

    def _local_indices(self, batch_number: int) -> tuple[np.ndarray, int]:
        indices = batch_indices(batch_number, len(self.train_graphs), self.train.batch_size, self.train.seed)
        return shard(indices, self.distributed.rank, self.distributed.world_size), len(indices)

    def batch(self, batch_number: int) -> tuple[Batch, int]:
        """Micro-batch ``batch_number`` on the device, and the global batch size.

        The loop's whole data path (worker loader or in-process collation); benchmarks time
        it alone. Consecutive batch numbers keep one worker loader running.
        """
        local, global_size = self._local_indices(batch_number)
        if self.train.num_workers == 0:
            return collate([self.train_graphs[i] for i in local], self.dtype, self.device), global_size
        loader = self._loader
        if loader is None or self._loader_start != batch_number:
            loader = self._start_loader(batch_number)
        self._loader_start += 1
        return to_model(next(loader), self.dtype, self.device), global_size

    def _start_loader(self, first_batch: int) -> Iterator[Batch]:
        """Worker processes building the batches from ``first_batch`` on, in step order.

        Returns:
            The batches (also kept as the current loader).
        """
        total = self.train.steps * self.train.accumulate
        plan = BatchPlan(lambda number: self._local_indices(number)[0], first_batch, total)
        loader: torch.utils.data.DataLoader[Batch] = torch.utils.data.DataLoader(
            # torch reads any map-style dataset (len and getitem, e.g. a list); its stub asks for a Dataset
            self.train_graphs,  # type: ignore[arg-type]
            batch_sampler=plan, collate_fn=Batch.from_data_list,
            **worker_options(self.train.num_workers, self.device, persistent=False),  # one pass: the plan
        )
        self._loader, self._loader_start = iter(loader), first_batch
        return self._loader

    def close_loaders(self) -> None:
        """End the worker processes of the training and validation loaders (made again when needed)."""
        self._loader, self._loader_start, self._val_chunks = None, -1, None

    def _validation_chunks(self) -> Iterable[list[Data]]:
        """The validation graphs in batches, in order (workers kept between validations)."""
        if self._val_chunks is None:
            self._val_chunks = chunk_loader(self.val_graphs, self.train.batch_size, self.train.num_workers,
                                            self.device, persistent=True)
        return self._val_chunks

    def _autocast(self) -> torch.autocast:
        """bf16 autocast of the forward pass when the recipe asks for it."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.train.autocast == "bf16")

    def _gradients_finite(self) -> bool:
        return all(torch.isfinite(p.grad).all() for p in self.model.parameters() if p.grad is not None)

    def train_step(self) -> dict[str, float]:
        """One optimizer step (``accumulate`` batches); returns its logs."""
        step = self.state.step
        lr = self.schedule.apply(step)
        self.network.train()
        self.optimizer.zero_grad(set_to_none=True)
        total_loss, structures, finite = 0.0, 0, True
        parts: dict[str, float] = {}
        for micro in range(self.train.accumulate):
            batch, global_size = self.batch(step * self.train.accumulate + micro)
            with self._autocast():
                prediction = self.network(batch)
            loss, loss_parts = self.objective(
                {key: value.to(self.dtype) for key, value in prediction.items()}, targets_of(batch)
            )
            finite = finite and bool(torch.isfinite(loss))
            (loss / self.train.accumulate).backward()
            total_loss += float(loss.detach()) / self.train.accumulate
            for name, value in loss_parts.items():
                parts[name] = parts.get(name, 0.0) + value / self.train.accumulate
            structures += global_size
        finite = finite and self._gradients_finite()
        if finite:
            if self.train.clip_grad_norm:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train.clip_grad_norm)
            self.optimizer.step()
            if self.ema is not None and step >= self.train.ema_start:
                self.ema.update_parameters(self.model)  # the first update copies the weights
            self.state.bad_in_a_row = 0
        else:
            self.optimizer.zero_grad(set_to_none=True)
            self.state.bad_in_a_row += 1
            self.state.skipped += 1
        self.state.step += 1
        self.state.structures += structures
        total_loss = self.distributed.mean_over_ranks(total_loss)
        parts = {name: self.distributed.mean_over_ranks(value) for name, value in parts.items()}
        return {"step": self.state.step, "loss": total_loss, "lr": lr, "skipped": float(not finite),
                **{f"loss/{name}": value for name, value in parts.items()}}

    def validate(self) -> dict[str, float]:
        """Validation loss and H MAE (micro-Hartree) with the evaluation weights."""
        model = self.evaluation_model
        model.eval()
        loss_sum, abs_sum, count = 0.0, 0.0, 0
        with torch.no_grad():
            for chunk in self._validation_chunks():
                batch = collate(chunk, self.dtype, self.device)
                prediction = model(batch)
                loss, _ = self.objective(prediction, targets_of(batch))
                loss_sum += float(loss) * batch.num_graphs
                abs_sum += float((prediction[HAMILTONIAN] - batch.hamiltonian).abs().sum())
                count += batch.hamiltonian.numel()
        n = max(len(self.val_graphs), 1)
        return {"step": self.state.step, "val_loss": loss_sum / n,
                "val_h_mae": abs_sum / max(count, 1) * MICRO_HARTREE}

    def _after_validation(self, metrics: dict[str, float]) -> None:
        value = metrics["val_h_mae"]
        self.schedule.observe_validation(value)
        if value < self.state.best_value:
            self.state.best_value, self.state.best_step, self.state.stalled = value, self.state.step, 0
            metrics["improved"] = 1.0
        else:
            self.state.stalled += 1
            metrics["improved"] = 0.0
        for callback in self.callbacks:
            callback.on_validation_end(self, metrics)

    def fit(self) -> LoopState:
        """Train until ``train.steps`` (continuing from a loaded state), or a stop.

        Ctrl-C (or SIGTERM) ends the current step, runs the end-of-training callbacks
        (which write ``last.pt``) and raises :class:`TrainingInterrupted`.

        Raises:
            HamkitError: Too many non-finite steps in a row, or out of memory.
            TrainingInterrupted: Stopped by a signal (checkpoint written).
        """
        with graceful_stop(self):
            try:
                self._loop()
            finally:
                self.close_loaders()
        if self.interrupted:
            raise TrainingInterrupted(self.interrupted)
        if self.state.bad_in_a_row >= self.train.max_bad_steps:
            raise HamkitError(
                f"training stopped at step {self.state.step}: {self.stop_reason} "
                "(lower train.lr, enable train.clip_grad_norm, or check the data for NaN); "
                "the last good checkpoint is kept"
            )
        return self.state

    def _loop(self) -> None:
        for callback in self.callbacks:
            callback.on_train_start(self)
        eval_every = self.train.eval_every
        while self.state.step < self.train.steps and not self.stop_reason:
            start = time.perf_counter()
            try:
                logs = self.train_step()
            except (torch.OutOfMemoryError, RuntimeError) as error:
                if not is_out_of_memory(error):
                    raise
                raise HamkitError(
                    f"out of memory at step {self.state.step + 1} with batch_size "
                    f"{self.train.batch_size}: lower train.batch_size (use train.accumulate to keep "
                    "the effective batch), use a smaller model, or train in float32"
                ) from None
            self.state.seconds += time.perf_counter() - start
            logs["structures_per_second"] = self.state.structures / max(self.state.seconds, 1e-9)
            if self.state.bad_in_a_row >= self.train.max_bad_steps:
                self.stop(f"{self.state.bad_in_a_row} steps in a row had a non-finite loss or gradient")
            for callback in self.callbacks:
                callback.on_step_end(self, logs)
            last = self.state.step >= self.train.steps or bool(self.stop_reason)
            if self.val_graphs and not self.interrupted and (
                    (eval_every and self.state.step % eval_every == 0) or last):
                self._after_validation(self.validate())
        for callback in self.callbacks:
            callback.on_train_end(self)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (tensors and plain containers only)."""
        ema = self._started_ema()
        return {
            "version": CHECKPOINT_VERSION,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "ema": ema.state_dict() if ema is not None else None,
            "loop": asdict(self.state),
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.state = LoopState(**state["loop"])
        restore_rng_state(state["rng"])
