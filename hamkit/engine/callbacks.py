"""What happens around the training loop: progress, logs, checkpoints, early stopping, plots.

Every callback that writes files does so on the main rank only.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from rich.progress import TaskID, TextColumn

from hamkit.engine.checkpoint import save_atomically
from hamkit.engine.progress import progress_bar
from hamkit.engine.run_layout import RunLayout
from hamkit.engine.trainer import Callback, Trainer
from hamkit.safe_output import atomic_file


class ProgressCallback(Callback):
    """A progress bar with step, loss, throughput and ETA."""

    def __init__(self) -> None:
        self.progress = progress_bar(TextColumn("loss {task.fields[loss]:.3e}"),
                                     TextColumn("{task.fields[rate]:.1f} struct/s"))
        self.task: TaskID | None = None

    def on_train_start(self, trainer: Trainer) -> None:
        self.progress.start()
        self.task = self.progress.add_task("training", total=trainer.train.steps,
                                           completed=trainer.state.step, loss=math.nan, rate=0.0)

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if self.task is None:
            raise RuntimeError("ProgressCallback.on_step_end called before on_train_start")
        self.progress.update(self.task, completed=trainer.state.step, loss=logs["loss"],
                             rate=logs["structures_per_second"])

    def on_train_end(self, trainer: Trainer) -> None:
        self.progress.stop()


class MetricsLog(Callback):
    """Metrics as JSON lines (``metrics.jsonl``) and CSV (``train.csv``, ``val.csv``), plus
    TensorBoard event files when the ``tensorboard`` package is installed."""

    def __init__(self, run_dir: Path, log_every: int) -> None:
        self.run_dir = run_dir
        self.layout = RunLayout(run_dir)
        self.log_every = log_every
        self.writer: Any = None

    def on_train_start(self, trainer: Trainer) -> None:
        if trainer.state.step:  # resumed: forget what was logged after the checkpoint
            drop_rows_after(self.run_dir, trainer.state.step)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self.writer = SummaryWriter(str(self.layout.tensorboard),
                                    purge_step=trainer.state.step + 1 if trainer.state.step else None)

    def _append(self, kind: str, row: dict[str, float]) -> None:
        with open(self.layout.metrics, "a") as handle:
            handle.write(json.dumps({"kind": kind, **row}) + "\n")
        path = self.layout.csv_log(kind)
        new = not path.exists()
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row), extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
        if self.writer is not None:
            for key, value in row.items():
                if key != "step":
                    self.writer.add_scalar(f"{kind}/{key}", value, int(row["step"]))

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if trainer.state.step % self.log_every == 0 or trainer.state.step == trainer.train.steps:
            self._append("train", logs)

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self._append("val", metrics)

    def on_train_end(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()


def drop_rows_after(run_dir: Path, step: int) -> None:
    """Remove log rows of steps after ``step`` (written before a crash, redone after resume),
    and rows a crash tore in half.

    Rewrites ``metrics.jsonl``, ``train.csv`` and ``val.csv`` atomically when they change.
    """
    layout = RunLayout(run_dir)
    for path in layout.log_files:
        if not path.is_file():
            continue
        lines = path.read_text().splitlines(keepends=True)
        if path == layout.metrics:
            kept = [line for line in lines if _json_step(line) <= step]
        else:
            kept = lines[:1] + [line for line in lines[1:] if _csv_step(line, lines[0]) <= step]
        if len(kept) != len(lines):
            with atomic_file(path) as temporary:
                temporary.write_text("".join(kept))


def _json_step(line: str) -> float:
    """The row's step; infinity for a torn or foreign row (so it is dropped)."""
    try:
        return float(json.loads(line)["step"])
    except (ValueError, TypeError, KeyError):
        return math.inf


def _csv_step(line: str, header: str) -> float:
    """The row's step; infinity for a torn row (wrong field count, no step)."""
    names = header.rstrip("\r\n").split(",")
    fields = line.rstrip("\r\n").split(",")
    if "step" not in names or len(fields) != len(names) or not line.endswith("\n"):
        return math.inf
    try:
        return float(fields[names.index("step")])
    except ValueError:
        return math.inf


class Checkpointing(Callback):
    """``checkpoints/last.pt`` every ``checkpoint_every`` steps and at the end; ``best.pt``
    whenever validation improves. Writes are atomic."""

    def __init__(self, run_dir: Path, every: int) -> None:
        self.run_dir = run_dir
        self.layout = RunLayout(run_dir)
        self.every = every

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if trainer.state.bad_in_a_row:
            return  # never overwrite the last good checkpoint with a skipped step
        if self.every and trainer.state.step % self.every == 0:
            save_atomically(trainer.state_dict(), self.layout.last_checkpoint)

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if metrics.get("improved"):
            save_atomically(trainer.state_dict(), self.layout.best_checkpoint)

    def on_train_end(self, trainer: Trainer) -> None:
        if not trainer.state.bad_in_a_row:
            save_atomically(trainer.state_dict(), self.layout.last_checkpoint)


class EarlyStopping(Callback):
    """Stops after ``patience`` validations without improvement."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.state.stalled >= self.patience:
            trainer.stop(f"no validation improvement in {self.patience} validations")
