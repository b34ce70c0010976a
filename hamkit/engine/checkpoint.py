"""Checkpoints: atomic writes, weights-only loading, and RNG state for exact resume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from hamkit.errors import HamkitError
from hamkit.safe_loading import load_weights_only

CHECKPOINT_VERSION = 1


def save_atomically(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    A crash leaves either the old file or the new one, never a half-written one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def rng_state() -> dict[str, Any]:
    """The torch RNG states (CPU, and every CUDA device when present)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        HamkitError: Missing file, pickled objects inside, or not a hamkit checkpoint.
    """
    if not path.is_file():
        raise HamkitError(f"{path}: no such checkpoint")
    state = load_weights_only(path)
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION or "model" not in state:
        raise HamkitError(f"{path}: not a hamkit checkpoint (version {CHECKPOINT_VERSION} expected)")
    return state
