"""``hamkit predict RUN_DIR_OR_CKPT STRUCTURE_FILES... --out FILE [--order ...] [--charge N]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.model_options import (
    MANY_STRUCTURES,
    add_model_argument,
    add_pyscf_cell_options,
    count_label,
    describe_model,
    load_model,
    pyscf_cell_settings,
    stderr_tracker,
)
from hamkit.cli.output_options import add_overwrite_option, check_output
from hamkit.data.structure_files import read_structure_files
from hamkit.engine.inference import Prediction, predict_structures
from hamkit.engine.prediction_files import OUTPUT_ORDERS, output_format, write_predictions
from hamkit.engine.restore import TrainedModel


def _configure(parser: argparse.ArgumentParser) -> None:
    add_structure_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="Output .npz (H_<k>, S_<k>, orbital_energies_<k>, Z_<k>, pos_<k>) "
                             "or .h5 (groups /<k>/H, ...); k = 0-based input order.")
    parser.add_argument("--order", choices=OUTPUT_ORDERS, default="canonical",
                        help="Orbital order of H and S in the file (default: canonical = hamkit's).")
    parser.epilog = ("Units: Hartree and Angstrom. S is PySCF's overlap in the model's basis; orbital "
                     "energies solve H C = S C eps. Periodic structures (cif, POSCAR, extxyz with a "
                     "lattice) give H(R) and S(R) stacks with their translations R_<k> and cell_<k>.")


def add_structure_arguments(parser: argparse.ArgumentParser) -> None:
    """The model, the structure files and their options (shared with plugin commands)."""
    add_model_argument(parser)
    parser.add_argument("structures", nargs="+", metavar="STRUCTURE_FILE",
                        help="Files ASE reads (xyz, extxyz, cif, POSCAR, ...); every frame is one structure.")
    parser.add_argument("--charge", type=int, default=None,
                        help="Total charge of every structure (default: the frame's 'charge' entry, else 0).")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_overwrite_option(parser)
    add_pyscf_cell_options(parser)


def predictions_of_arguments(args: argparse.Namespace) -> tuple[TrainedModel, list[Prediction]]:
    """Load the model and predict every structure the arguments name (crystals included)."""
    structures = read_structure_files(args.structures, args.charge, allow_periodic=True)
    trained = load_model(args)
    track = stderr_tracker(not args.no_progress and len(structures) >= MANY_STRUCTURES)
    periodic = any(item.structure.is_periodic for item in structures)
    settings = pyscf_cell_settings(trained, args) if periodic and trained.model.featurizer.supports_periodic else None
    return trained, predict_structures(trained, structures, args.batch_size, track, settings)


def _run(args: argparse.Namespace) -> int:
    output_format(args.out)  # a bad suffix or an existing output fails before any work
    check_output(args.out, args)
    trained, predictions = predictions_of_arguments(args)
    write_predictions(args.out, predictions, trained.basis, args.order)
    Console().print(
        f"wrote {count_label(predictions)} to {args.out} (order {args.order}, basis "
        f"'{trained.basis.name}', Hartree) from {describe_model(trained)}",
        markup=False, highlight=False,
    )
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``predict``."""
    commands.add("predict", help="Predict H (with PySCF's S and orbital energies) for structure files.",
                 configure=_configure, run=_run)
