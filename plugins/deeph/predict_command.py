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

from hamkit.cli.model_options import count_label, describe_model
from hamkit.cli.predict_cmd import add_structure_arguments, predictions_of_arguments
from hamkit.data.structure import HamiltonianRecord
from hamkit.engine.inference import Prediction
from hamkit.errors import HamkitError
from hamkit_plugins.deeph.writer import write_deeph_folder


def _configure(parser: argparse.ArgumentParser) -> None:
    add_structure_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="New folder; structure k (0-based, input order) goes to DIR/<k>/.")


def prediction_record(prediction: Prediction) -> HamiltonianRecord:
    """The record the DeepH writer takes (canonical order, Hartree)."""
    return HamiltonianRecord(prediction.structure, prediction.hamiltonian, prediction.overlap,
                             key=prediction.name, translations=prediction.translations)


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    occupied = any(out.iterdir()) if out.is_dir() else out.exists()
    if occupied:
        raise HamkitError(f"{out} already exists and is not an empty folder: choose a new --out")
    trained, predictions = predictions_of_arguments(args)
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
