"""``hamkit deeph-predict RUN_DIR_OR_CKPT STRUCTURE_FILES... --out DIR``: predictions as DeepH folders.

Each input structure (every frame of every file, in order) becomes ``DIR/<k>/`` in the
processed DeepH layout (OpenMX order, eV): the model's H(R) for every block within its
cutoff, with PySCF's exact S(R) at the same translations. Crystals and molecules alike;
the folder tree is written to a temporary sibling first and moved in when complete, so a
failure leaves nothing behind. An occupied DIR is refused unless ``--overwrite``, which
replaces its ``<k>/`` folders and keeps anything else in it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from hamkit.cli.model_options import count_label, describe_model
from hamkit.cli.output_options import check_output
from hamkit.cli.predict_cmd import add_structure_arguments, predictions_of_arguments
from hamkit.data.structure import HamiltonianRecord
from hamkit.engine.inference import Prediction
from hamkit.safe_output import atomic_entries
from hamkit_plugins.deeph.writer import write_deeph_folder


def _configure(parser: argparse.ArgumentParser) -> None:
    add_structure_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="New folder (an existing one is refused unless --overwrite); structure k "
                             "(0-based, input order) goes to DIR/<k>/.")


def prediction_record(prediction: Prediction) -> HamiltonianRecord:
    """The record the DeepH writer takes (canonical order, Hartree)."""
    return HamiltonianRecord(prediction.structure, prediction.hamiltonian, prediction.overlap,
                             key=prediction.name, translations=prediction.translations)


def is_structure_folder(entry: Path) -> bool:
    """An output folder ``<k>/`` of an earlier ``deeph-predict`` (replaced by ``--overwrite``)."""
    return entry.is_dir() and entry.name.isdigit()


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    check_output(out, args)
    trained, predictions = predictions_of_arguments(args)
    with atomic_entries(out, stale=is_structure_folder) as staging:
        for k, prediction in enumerate(predictions):
            write_deeph_folder(prediction_record(prediction), staging / str(k), trained.basis)
    Console().print(f"wrote {count_label(predictions)} as DeepH folders in {out} (OpenMX order, eV) "
                    f"from {describe_model(trained)}", markup=False, highlight=False)
    return 0


def add_deeph_commands(commands) -> None:  # noqa: ANN001 - hamkit.cli.commands.CommandRegistrar
    """Add ``deeph-predict``."""
    commands.add("deeph-predict", help="Predict H(R) (with PySCF's S(R)) and write processed DeepH folders.",
                 configure=_configure, run=_run)
