"""``hamkit eval RUN_DIR_OR_CKPT [--data PATH --from FORMAT] [--split ...] [--json]``."""

from __future__ import annotations

import argparse

import numpy as np
from pydantic import ValidationError
from rich.console import Console

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.model_options import (
    MANY_STRUCTURES,
    add_model_argument,
    count_label,
    describe_model,
    load_model,
    print_json,
    stderr_tracker,
)
from hamkit.cli.train_cmd import metrics_table
from hamkit.components import Dataset
from hamkit.engine.inference import evaluate_records
from hamkit.engine.prepare import build_dataset, prepare_data
from hamkit.engine.restore import TrainedModel
from hamkit.engine.run_layout import RECIPE_FILE
from hamkit.errors import HamkitError

SPLITS = ("test", "val", "train", "all")
JSON_KEYS = ("h_mae", "h_mae_diag", "h_mae_offdiag", "eps_occ_mae", "homo_mae", "lumo_mae", "gap_mae", "psi_cos")
"""Keys of ``--json`` output (means; micro-Hartree, ``psi_cos`` in %), plus ``structures``."""


def _configure(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="Evaluate on every structure of this file instead of the run's own split.")
    parser.add_argument("--from", dest="data_format", metavar="FORMAT", default="hamkit",
                        help="Dataset component that reads --data (default: hamkit; "
                             "see `hamkit plugins list --kind dataset`).")
    parser.add_argument("--split", choices=SPLITS, default=None,
                        help=f"Split of the run's own dataset, re-made from {RECIPE_FILE} (default: test).")
    parser.add_argument("--json", action="store_true",
                        help="Print one JSON object: metric means (micro-Hartree, psi_cos in %%) and structures.")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")


def open_data_file(path: str, data_format: str) -> Dataset:
    """Open a file with a registered dataset component (its ``Config`` takes ``path``).

    Raises:
        HamkitError: Unknown format, options it rejects, or a file it cannot read.
    """
    from hamkit.plugin_host import get_host

    record = get_host().registry.get("dataset", data_format)
    try:
        config = record.config_class.model_validate({"path": path})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
        raise HamkitError(f"dataset '{data_format}' cannot take path={path!r} alone: {problems}") from None
    try:
        return build_dataset(record, config)
    except HamkitError:
        raise
    except (OSError, ValueError, KeyError) as error:
        raise HamkitError(f"{path}: cannot read it as a '{data_format}' dataset "
                          f"({type(error).__name__}: {error})") from None


def evaluation_data(trained: TrainedModel, args: argparse.Namespace) -> tuple[Dataset, np.ndarray, str]:
    """The dataset, record indices and a label of what the arguments ask to evaluate."""
    if args.data is not None:
        if args.split is not None:
            raise HamkitError("--split selects part of the run's own dataset; with --data the whole file is used")
        dataset = open_data_file(args.data, args.data_format)
        return dataset, np.arange(len(dataset)), f"{args.data} ({args.data_format})"
    split = args.split or "test"
    dataset, indices = run_split(trained, split)
    return dataset, indices, f"{split} split" if split != "all" else "whole dataset"


def run_split(trained: TrainedModel, split: str) -> tuple[Dataset, np.ndarray]:
    """The run's own dataset, re-made from its recipe, and the record indices of ``split``
    (one of :data:`SPLITS`; ``all`` is every record)."""
    data = prepare_data(trained.recipe)
    indices = np.arange(len(data.dataset)) if split == "all" else data.splits[split]
    return data.dataset, indices


def _run(args: argparse.Namespace) -> int:
    trained = load_model(args)
    dataset, indices, label = evaluation_data(trained, args)
    track = stderr_tracker(not args.no_progress and len(indices) >= MANY_STRUCTURES)
    metrics = evaluate_records(trained, dataset, indices, args.batch_size, track)
    if args.json:
        print_json({**{key: metrics[key]["mean"] for key in JSON_KEYS}, "structures": len(indices)})
        return 0
    console = Console()
    console.print(f"model: {describe_model(trained)}")
    periodic = len(indices) > 0 and dataset[int(indices[0])].is_periodic
    console.print(metrics_table(metrics, f"{label} ({count_label(indices)})", periodic))
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``eval``."""
    commands.add("eval", help="Score a trained model (QH9 metrics) on its test split or on a data file.",
                 configure=_configure, run=_run)
