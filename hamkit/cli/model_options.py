"""Options and helpers shared by the commands that use a trained model (eval, predict, scf)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from hamkit.engine.restore import TrainedModel, load_trained_model
from hamkit.engine.run_layout import BEST_CHECKPOINT, DATA_FILE, LAST_CHECKPOINT, RunLayout
from hamkit.errors import HamkitError

Item = TypeVar("Item")

MANY_STRUCTURES = 8
"""From this many structures on, commands draw a progress bar (on stderr)."""


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """The ``RUN_DIR_OR_CKPT`` positional plus ``--device`` and ``--batch-size``."""
    parser.add_argument(
        "model", metavar="RUN_DIR_OR_CKPT",
        help=f"Run directory (uses {BEST_CHECKPOINT}, else {LAST_CHECKPOINT}) or a checkpoint file inside one.",
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="Where the model runs (default: cpu).")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                        help="Structures per forward pass (default: the training batch size).")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def load_model(args: argparse.Namespace) -> TrainedModel:
    """The trained model the arguments name, on the chosen device."""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise HamkitError("--device cuda: no CUDA device is available; use --device cpu or auto")
    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu"
    return load_trained_model(args.model, device)


def stderr_tracker(enabled: bool):
    """A ``track(items, description)`` wrapper drawing a rich progress bar on stderr.

    Args:
        enabled: False gives a wrapper that passes items through silently.
    """

    def track(items: Sequence[Item], description: str) -> Iterator[Item]:
        if not enabled:
            yield from items
            return
        from hamkit.engine.progress import progress_bar

        bar = progress_bar(console=Console(stderr=True), transient=True)
        with bar:
            task = bar.add_task(description, total=len(items))
            for item in items:
                yield item
                bar.advance(task)

    return track


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def print_json(value: Any) -> None:
    """Print exactly one JSON object on stdout."""
    print(json.dumps(json_safe(value), indent=2))


def describe_model(trained: TrainedModel) -> str:
    """One line: which run, checkpoint and weights a result comes from."""
    step = f", step {trained.step}" if trained.step is not None else ""
    return f"{trained.run_dir} ({trained.checkpoint.name}{step}, {trained.weights} weights)"


def count_label(items: Iterable[Any]) -> str:
    """``"1 structure"`` / ``"n structures"``."""
    n = len(list(items))
    return f"{n} structure" + ("" if n == 1 else "s")


NO_PSEUDO = "none"
"""``--pseudo none``: an all-electron basis."""


def add_pyscf_cell_options(parser: argparse.ArgumentParser) -> None:
    """``--basis`` / ``--pseudo``: the PySCF cell of crystals given as structure files."""
    parser.add_argument("--basis", default=None, metavar="NAME",
                        help="PySCF basis of periodic structures' overlap (default: the run's dataset provenance).")
    parser.add_argument("--pseudo", default=None, metavar="NAME",
                        help=f"PySCF pseudopotential, or '{NO_PSEUDO}' (default: the run's dataset provenance).")


def dataset_provenance(run_dir: Path) -> dict[str, Any]:
    """The provenance of a run's dataset as recorded in ``RUN/data.json`` (empty if unknown)."""
    path = RunLayout(Path(run_dir)).data
    try:
        return dict(json.loads(path.read_text()).get("provenance") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def pyscf_cell_settings(trained: TrainedModel, args: argparse.Namespace) -> tuple[str, str | None]:
    """``(basis_name, pseudo)`` of the PySCF cell: the options, else the dataset provenance.

    Raises:
        HamkitError: Either one is unknown (names the option to pass).
    """
    provenance = dataset_provenance(trained.run_dir)
    basis = args.basis or provenance.get("basis")
    if not basis:
        raise HamkitError("the PySCF basis of this run's data is unknown (no 'basis' in the dataset "
                          f"provenance of {DATA_FILE}); pass --basis NAME, e.g. --basis gth-szv")
    if args.pseudo is not None:
        pseudo = None if args.pseudo.lower() == NO_PSEUDO else args.pseudo
    elif "pseudo" in provenance:
        pseudo = provenance["pseudo"] or None
    else:
        raise HamkitError("the pseudopotential of this run's data is unknown (no 'pseudo' in the dataset "
                          f"provenance of {DATA_FILE}); pass --pseudo NAME (e.g. gth-pbe) or --pseudo {NO_PSEUDO}")
    return str(basis), pseudo
