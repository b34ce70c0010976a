"""``hamkit deeph-predict RUN_DIR_OR_CKPT STRUCTURE_FILES... --out DIR``: predictions as DeepH folders.

Each input structure (every frame of every file, in order) becomes ``DIR/<k>/`` in the
processed DeepH layout (OpenMX order, eV): the model's H(R) for every block within its
cutoff, with PySCF's exact S(R) at the same translations. Crystals and molecules alike;
the folder tree is written to a temporary sibling first and renamed, so a failure leaves
nothing behind.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from rich.console import Console

from hamkit.cli.model_options import (
    MANY_STRUCTURES, add_model_argument, add_pyscf_cell_options, count_label, describe_model, load_model,
    pyscf_cell_settings, stderr_tracker,
)
from hamkit.data.structure import HamiltonianRecord
from hamkit.data.structure_files import read_structure_files
from hamkit.engine.inference import Prediction, predict_structures
from hamkit.errors import HamkitError
from hamkit_plugins.deeph.writer import write_deeph_folder


def _configure(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("structures", nargs="+", metavar="STRUCTURE_FILE",
                        help="Files ASE reads (cif, POSCAR, extxyz, xyz, ...); every frame is one structure.")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="New folder; structure k (0-based, input order) goes to DIR/<k>/.")
    parser.add_argument("--charge", type=int, default=None,
                        help="Total charge of every structure (default: the frame's 'charge' entry, else 0).")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_pyscf_cell_options(parser)


def prediction_record(prediction: Prediction) -> HamiltonianRecord:
    """The record the DeepH writer takes (canonical order, Hartree)."""
    return HamiltonianRecord(prediction.structure, prediction.hamiltonian, prediction.overlap,
                             key=prediction.name, translations=prediction.translations)


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    occupied = any(out.iterdir()) if out.is_dir() else out.exists()
    if occupied:
        raise HamkitError(f"{out} already exists and is not an empty folder: choose a new --out")
    structures = read_structure_files(args.structures, args.charge, allow_periodic=True)
    trained = load_model(args)
    periodic = any(item.structure.is_periodic for item in structures)
    settings = pyscf_cell_settings(trained, args) if periodic and trained.model.featurizer.supports_periodic else None
    track = stderr_tracker(not args.no_progress and len(structures) >= MANY_STRUCTURES)
    predictions = predict_structures(trained, structures, args.batch_size, track, settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for k, prediction in enumerate(predictions):
            write_deeph_folder(prediction_record(prediction), staging / str(k), trained.basis)
        if out.is_dir():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    Console().print(f"wrote {count_label(predictions)} as DeepH folders in {out} (OpenMX order, eV) "
                    f"from {describe_model(trained)}", markup=False, highlight=False)
    return 0


def add_deeph_commands(commands) -> None:  # noqa: ANN001 - hamkit.cli.commands.CommandRegistrar
    """Add ``deeph-predict``."""
    commands.add("deeph-predict", help="Predict H(R) (with PySCF's S(R)) and write processed DeepH folders.",
                 configure=_configure, run=_run)
