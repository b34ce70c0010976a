"""``hamkit bands RUN_DIR_OR_CKPT [STRUCTURE] --out DIR [--path G-M-K-G] [--window 2.0] [--json]``.

Band structure of a periodic structure from a trained model's predicted H(R):

* without STRUCTURE: the first record of the run's test split (re-made from
  ``recipe.yaml``); reference bands from its H(R), S(R) and predicted bands from the
  predicted H(R) with the record's S(R) (the TRUE overlap), plus band errors;
* with a STRUCTURE file (periodic, with a cell): S(k) from PySCF in the dataset's basis
  and pseudopotential (:func:`hamkit.labelling.pbc_cell.overlap_kpoints`); predicted bands only.

The bands, Fermi level and errors are computed by :mod:`hamkit.band_structure` (see
:mod:`hamkit.band_structure.compute`); this module parses the options and writes and prints
the results. Outputs: ``DIR/bands.png`` and ``DIR/bands.json``, written only when
everything succeeded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hamkit.band_structure.compute import BandResult, BandSettings, compute_bands
from hamkit.band_structure.report import band_data, summary
from hamkit.band_structure.targets import BandTarget, split_record_target, structure_file_target
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.model_options import (
    add_model_argument,
    add_pyscf_cell_options,
    describe_model,
    json_safe,
    load_model,
    print_json,
    pyscf_cell_settings,
)
from hamkit.cli.output_options import add_overwrite_option, check_output
from hamkit.engine.band_plots import plot_bands, plotted_half_range
from hamkit.physics.bands import DEFAULT_OVERLAP_THRESHOLD, LATTICE_TOLERANCE
from hamkit.safe_output import atomic_entries

PNG_NAME = "bands.png"
JSON_NAME = "bands.json"


# ---------------------------------------------------------------------------- arguments
def _configure(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("structure", nargs="?", default=None, metavar="STRUCTURE",
                        help="A periodic structure file ASE reads (with a cell; a 2D material needs "
                             "pbc T T F, e.g. extxyz). Default: the first structure of the run's test split.")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help=f"Output folder: {PNG_NAME} and {JSON_NAME} (written only on success).")
    parser.add_argument("--path", default=None, metavar="POINTS",
                        help="Special points, e.g. G-M-K-G, GMKG or GX,YG (comma breaks the path); "
                             "default: ASE's path for the lattice.")
    parser.add_argument("--npoints", type=_at_least(2, int), default=120, help="k-points on the path (default 120).")
    parser.add_argument("--window", type=_at_least(0.0, float), default=2.0, metavar="EV",
                        help="Band errors within this many eV of the Fermi level (default 2.0).")
    parser.add_argument("--lattice-tolerance", type=_at_least(0.0, float), default=LATTICE_TOLERANCE,
                        help="Relative tolerance when recognising the Bravais lattice for special points "
                             f"(default {LATTICE_TOLERANCE}: a strained hexagonal cell keeps M and K).")
    parser.add_argument("--threshold", type=_at_least(0.0, float), default=DEFAULT_OVERLAP_THRESHOLD,
                        help="Project out eigenvectors of S(k) below this (default 5e-4, DeepH's).")
    add_pyscf_cell_options(parser)
    parser.add_argument("--json", action="store_true", help="Print one JSON object (errors in meV) instead of a table.")
    add_overwrite_option(parser)
    parser.epilog = ("Energies: eV relative to the Fermi level in the plot, absolute eV (and E_F) in bands.json; "
                     "errors in meV, bands matched by index at the path's k-points.")


def _at_least(minimum: float, kind: type):
    def parse(text: str):
        value = kind(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def _settings(args: argparse.Namespace) -> BandSettings:
    return BandSettings(path=args.path, npoints=args.npoints, window=args.window,
                        lattice_tolerance=args.lattice_tolerance, threshold=args.threshold)


# ---------------------------------------------------------------------------- output
def write_outputs(out: Path, result: BandResult, target: BandTarget, window_ev: float) -> None:
    """``bands.png`` and ``bands.json`` into a staging folder, moved into ``out`` when both are
    complete (other files in ``out`` are kept)."""
    with atomic_entries(out) as staging:
        plot_bands(result.path.x, result.path.special_x, result.path.labels, result.reference,
                   result.predicted, result.fermi_level, staging / PNG_NAME,
                   f"{target.name}: {'reference (black) vs ' if result.reference is not None else ''}predicted",
                   window_ev)
        (staging / JSON_NAME).write_text(json.dumps(json_safe(band_data(result, target, window_ev))))


def results_table(result: BandResult, window_ev: float) -> Table:
    """Band MAE and max error near E_F (meV)."""
    table = Table(title="band errors (meV), bands matched by index")
    for column in ("energies within", "MAE", "max", "values"):
        table.add_column(column, justify="right")
    for name, errors in result.errors.items():
        half = window_ev if name == "window" else plotted_half_range(window_ev)
        table.add_row(f"E_F ± {half:g} eV", f"{errors.mae_mev:.1f}", f"{errors.max_mev:.1f}", str(errors.count))
    return table


def _run(args: argparse.Namespace) -> int:
    check_output(args.out, args)
    trained = load_model(args)
    target = structure_file_target(Path(args.structure)) if args.structure else split_record_target(trained)
    result = compute_bands(trained, target, _settings(args), lambda: pyscf_cell_settings(trained, args))
    write_outputs(args.out, result, target, args.window)
    info = summary(result, target, args.window)
    if args.json:
        print_json({**info, "out": str(args.out)})
        return 0
    console = Console()
    console.print(f"model: {describe_model(trained)}", markup=False, highlight=False)
    console.print(f"structure: {target.name}; path {'-'.join(result.path.labels)}, {info['kpoints']} k-points, "
                  f"{info['bands']} bands; E_F = {info['fermi_level_ev']:.3f} eV ({result.fermi_source})",
                  markup=False, highlight=False)
    if result.errors:
        console.print(results_table(result, args.window))
    else:
        console.print("no reference bands for a structure file: predicted bands only")
    console.print(f"wrote {args.out / PNG_NAME} and {args.out / JSON_NAME}", markup=False, highlight=False)
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``bands``."""
    commands.add("bands", help="Band structure of a periodic structure: predicted vs reference bands, errors near E_F.",
                 configure=_configure, run=_run)
