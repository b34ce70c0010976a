"""Checkpoints: atomic writes, a content hash, weights-only loading, RNG state for exact resume.

A checkpoint is a ``torch.save`` of plain containers and tensors. Since version 2 it
carries ``"sha256"``: a hash of everything else in it (:func:`state_digest`), checked on
load, so flipped bytes inside tensor data (which torch's zip reader does not notice) are
reported instead of silently used. Version 1 checkpoints (no hash) still load.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import torch

from hamkit.engine.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT
from hamkit.errors import HamkitError
from hamkit.safe_loading import load_weights_only
from hamkit.safe_output import atomic_file

CHECKPOINT_VERSION = 2
READABLE_VERSIONS = (1, 2)
DIGEST_KEY = "sha256"


class CheckpointError(HamkitError):
    """A checkpoint that cannot be used: missing, truncated, damaged, or not hamkit's."""


def _feed(digest: "hashlib._Hash", value: Any) -> None:
    """Feed ``value`` into ``digest`` in a canonical order (dict keys sorted by text)."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"V{value!r}".encode())


def state_digest(state: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint's content, without its own ``"sha256"`` entry.

    Args:
        state: Plain containers, numbers, strings and tensors (any device).

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    _feed(digest, {key: value for key, value in state.items() if key != DIGEST_KEY})
    return digest.hexdigest()


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` a checkpoint with its content hash, via a temporary file and a rename.

    A crash leaves either the old file or the new one, never a half-written one; a full
    disk removes the temporary file and says how much space is needed.

    Raises:
        DiskFullError: No space left (the previous checkpoint is untouched).
    """
    buffer = io.BytesIO()  # torch's file writer turns ENOSPC into an opaque RuntimeError
    torch.save({**state, DIGEST_KEY: state_digest(state)}, buffer)
    with atomic_file(path, expected_bytes=buffer.getbuffer().nbytes) as temporary, \
            open(temporary, "wb") as handle:
        handle.write(buffer.getbuffer())


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


def _damaged(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"{path}: cannot read the checkpoint (corrupt or truncated?): {detail}; use another checkpoint "
        f"of the run ({BEST_CHECKPOINT} or {LAST_CHECKPOINT}) or train again"
    )


def _load(path: Path) -> Any:
    if path.stat().st_size == 0:
        raise _damaged(path, "the file is empty")
    if not zipfile.is_zipfile(path):
        raise _damaged(path, "not a torch zip archive")
    try:
        return load_weights_only(path)
    except HamkitError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged pickle can raise almost anything while it unpickles
        # (measured: AttributeError and TypeError from torch's weights-only unpickler, besides the usual
        # RuntimeError/EOFError/UnpicklingError); every one of them means the file cannot be read.
        first_line = str(error).splitlines()[0] if str(error) else ""
        first_line = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        raise _damaged(path, first_line) from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` and verify its content hash.

    Raises:
        CheckpointError: Missing, empty, truncated or damaged file, a content hash that does
            not match (flipped bytes), or not a hamkit checkpoint.
        UnsafeCheckpointError: Pickled Python objects inside.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    state = _load(path)
    if not isinstance(state, dict) or state.get("version") not in READABLE_VERSIONS or "model" not in state:
        raise CheckpointError(f"{path}: not a hamkit checkpoint (versions {READABLE_VERSIONS} are readable)")
    recorded = state.get(DIGEST_KEY)
    if state["version"] >= 2 and recorded != state_digest(state):
        raise _damaged(path, "its content does not match the hash recorded when it was written "
                             "(bytes changed on disk)")
    state.pop(DIGEST_KEY, None)
    return state
