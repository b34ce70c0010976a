"""``hamkit bands RUN_DIR_OR_CKPT [STRUCTURE] --out DIR [--path G-M-K-G] [--window 2.0] [--json]``.

Band structure of a periodic structure from a trained model's predicted H(R):

* without STRUCTURE: the first record of the run's test split (re-made from
  ``recipe.yaml``); reference bands from its H(R), S(R) and predicted bands from the
  predicted H(R) with the record's S(R) (the TRUE overlap), plus band errors;
* with a STRUCTURE file (periodic, with a cell): S(k) from PySCF in the dataset's basis
  and pseudopotential (:func:`hamkit.data.pbc_cell.overlap_kpoints`); predicted bands only.

The Fermi level is the record's ``fermi_level`` when it has one, else the filling level
(:func:`hamkit.physics.bands.fermi_level_from_electrons`) of the reference (or, without
one, predicted) bands on a Monkhorst-Pack mesh (24 points for 1D, 12 x 12 for 2D,
6 x 6 x 6 for 3D) plus the path, with the record's ``n_electrons`` or PySCF's valence
electron count. Errors compare bands by index at the
path's k-points, where the reference lies within ``--window`` eV of the Fermi level.
Outputs: ``DIR/bands.png`` and ``DIR/bands.json``, written only when everything succeeded.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.output_options import add_overwrite_option, check_output
from hamkit.cli.model_options import (
    add_model_argument, add_pyscf_cell_options, describe_model, json_safe, load_model, print_json, pyscf_cell_settings,
)
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.structure_files import read_structure_files
from hamkit.engine.band_plots import plot_bands, plotted_half_range
from hamkit.engine.inference import predict_real_space
from hamkit.engine.prepare import prepare_data
from hamkit.errors import HamkitError
from hamkit.physics.bands import (
    DEFAULT_OVERLAP_THRESHOLD, EV_PER_HARTREE, LATTICE_TOLERANCE, BandErrors, BandPath, band_errors_near_fermi,
    band_path, fermi_level_from_electrons, mesh_for, solve_bands,
)
from hamkit.physics.bloch import bloch_matrices, monkhorst_pack
from hamkit.safe_output import atomic_entries

PERIODIC_NEEDED = "hamkit bands needs a periodic structure"
FERMI_MESH_POINTS = {1: 24, 2: 12, 3: 6}
"""Monkhorst-Pack points per periodic direction for the Fermi level, by number of periodic
directions (multiples of 3 and 2: hexagonal K and M points lie on the mesh)."""
PNG_NAME = "bands.png"
JSON_NAME = "bands.json"


@dataclass(frozen=True)
class BandTarget:
    """What to draw: a structure, and its labelled record when there is one.

    Attributes:
        name: For messages and the plot title.
        structure: The periodic structure.
        record: The labelled record (reference H(R), S(R)), or None for a structure file.
    """

    name: str
    structure: Structure
    record: HamiltonianRecord | None


@dataclass(frozen=True)
class BandResult:
    """Bands along the path (Hartree) and what was measured.

    Attributes:
        path: The k-path.
        reference: (n_k, n_bands) reference bands on the path, or None.
        predicted: (n_k, n_bands) predicted bands on the path.
        fermi_level: Hartree.
        fermi_source: How the Fermi level was found (for the report).
        errors: ``{"window": ..., "plotted": ...}`` band errors, empty without a reference.
    """

    path: BandPath
    reference: np.ndarray | None
    predicted: np.ndarray
    fermi_level: float
    fermi_source: str
    errors: dict[str, BandErrors]


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


# ---------------------------------------------------------------------------- targets
def split_record_target(trained: Any) -> BandTarget:
    """The first record of the run's test split.

    Raises:
        HamkitError: Empty test split, or a molecule (no lattice translations).
    """
    data = prepare_data(trained.recipe)
    test = data.splits["test"]
    if len(test) == 0:
        raise HamkitError("the run's test split is empty; give a STRUCTURE file")
    record = data.dataset[int(test[0])]
    name = record.key or f"test record {int(test[0])}"
    if not record.is_periodic or record.structure.cell is None:
        raise HamkitError(f"{PERIODIC_NEEDED}; the run's test structure '{name}' is a molecule "
                          "(its dataset has no lattice translations)")
    if record.overlap is None:
        raise HamkitError(f"test structure '{name}' has no overlap S(R): reference bands need it")
    return BandTarget(name, record.structure, record)


def structure_file_target(path: Path) -> BandTarget:
    """The single periodic structure in an ASE-readable file.

    Raises:
        HamkitError: Missing or unreadable file, several frames, or no periodic cell.
    """
    structures = read_structure_files([path], allow_periodic=True)
    if len(structures) != 1:
        raise HamkitError(f"{path}: {len(structures)} structures in the file; give a file with exactly one")
    named = structures[0]
    if not named.structure.is_periodic:
        raise HamkitError(f"{PERIODIC_NEEDED}; {path} has no periodic cell (use a format with a lattice, "
                          "e.g. extxyz with Lattice=... pbc=\"T T F\", POSCAR or cif)")
    return BandTarget(named.name, named.structure, None)


# ---------------------------------------------------------------------------- PySCF overlap
def pyscf_overlaps(structure: Structure, trained: Any, args: argparse.Namespace, kpoints: np.ndarray) -> np.ndarray:
    """S(k) (n_k, n, n) from PySCF in the run's basis (canonical order).

    Raises:
        HamkitError: Unknown basis or pseudopotential, or a basis PySCF disagrees with.
    """
    from hamkit.data.pbc_cell import overlap_kpoints

    basis_name, pseudo = pyscf_cell_settings(trained, args)
    try:
        return overlap_kpoints(structure, trained.basis, basis_name, pseudo, kpoints)
    except (ValueError, KeyError, RuntimeError) as error:
        raise HamkitError(f"PySCF overlap in basis '{basis_name}' (pseudo {pseudo}): {error}") from None


def pyscf_electrons(structure: Structure, trained: Any, args: argparse.Namespace) -> int:
    """Electrons per cell PySCF counts (valence electrons with a pseudopotential).

    Raises:
        HamkitError: Unknown basis or pseudopotential, or a cell PySCF refuses (odd count).
    """
    from hamkit.data.pbc_cell import build_cell

    basis_name, pseudo = pyscf_cell_settings(trained, args)
    try:
        return int(build_cell(structure, basis_name, pseudo).nelectron)
    except (ValueError, KeyError, RuntimeError) as error:
        raise HamkitError(f"PySCF cell in basis '{basis_name}' (pseudo {pseudo}): {error}") from None


# ---------------------------------------------------------------------------- bands
def compute_bands(trained: Any, target: BandTarget, args: argparse.Namespace) -> BandResult:
    """Reference and predicted bands on the path, the Fermi level and band errors."""
    structure = target.structure
    trained.check_elements(structure.numbers, target.name)
    path = band_path(structure.cell, structure.pbc, args.path, args.npoints, args.lattice_tolerance)
    record = target.record
    predicted_h = predict_real_space(trained, structure, target.name)
    reference_h = None if record is None else (record.translations, record.hamiltonian)
    path_overlaps = _overlaps(target, trained, args, path.kpoints)
    if predicted_h[1].shape[1:] != path_overlaps.shape[1:]:
        raise HamkitError(f"predicted H(R) has {predicted_h[1].shape[1]} orbitals, S(k) {path_overlaps.shape[1]}: "
                          "the model's basis and the overlap's basis differ")
    predicted = _solve(predicted_h, path.kpoints, path_overlaps, args.threshold)
    reference = None if reference_h is None else _solve(reference_h, path.kpoints, path_overlaps, args.threshold)

    def filling_bands() -> np.ndarray:
        kpoints = np.concatenate([path.kpoints, monkhorst_pack(fermi_mesh(structure.pbc))])
        hamiltonian = reference_h if reference_h is not None else predicted_h
        return _solve(hamiltonian, kpoints, _overlaps(target, trained, args, kpoints), args.threshold)

    fermi_level, source = _fermi_level(record, filling_bands, lambda: pyscf_electrons(structure, trained, args))
    errors = {} if reference is None else {
        "window": band_errors_near_fermi(predicted, reference, fermi_level, args.window),
        "plotted": band_errors_near_fermi(predicted, reference, fermi_level, plotted_half_range(args.window)),
    }
    return BandResult(path, reference, predicted, fermi_level, source, errors)


def fermi_mesh(pbc: tuple[bool, bool, bool]) -> tuple[int, int, int]:
    """Monkhorst-Pack mesh of the Fermi level: :data:`FERMI_MESH_POINTS` by periodic dimension."""
    return mesh_for(pbc, FERMI_MESH_POINTS[sum(pbc)])


def _overlaps(target: BandTarget, trained: Any, args: argparse.Namespace, kpoints: np.ndarray) -> np.ndarray:
    """S(k) (n_k, n, n): the record's S(R) summed, else PySCF's."""
    if target.record is not None:
        return bloch_matrices(target.record.translations, target.record.overlap, kpoints)
    return pyscf_overlaps(target.structure, trained, args, kpoints)


def _solve(real_space: tuple[np.ndarray, np.ndarray], kpoints: np.ndarray, overlaps: np.ndarray,
           threshold: float) -> np.ndarray:
    """Bands (n_k, n_bands) of ``(translations, H(R))`` with the given S(k), Hartree."""
    try:
        return solve_bands(bloch_matrices(*real_space, kpoints), overlaps, threshold)
    except ValueError as error:
        raise HamkitError(f"bands: {error} (lower --threshold)") from None


def _fermi_level(record: HamiltonianRecord | None, filling_bands: Callable[[], np.ndarray],
                 pyscf_count: Callable[[], int]) -> tuple[float, str]:
    """The record's Fermi level, else the filling level of ``filling_bands()`` (path + mesh).

    The electron count is the record's ``n_electrons``, else ``pyscf_count()``.
    """
    extras = record.extras if record is not None else {}
    if extras.get("fermi_level") is not None:
        return float(extras["fermi_level"]), "the record's fermi_level"
    electrons = extras.get("n_electrons")
    if electrons is None:
        electrons = pyscf_count()
    try:
        level = fermi_level_from_electrons(filling_bands(), float(electrons))
    except ValueError as error:
        raise HamkitError(f"Fermi level: {error}") from None
    which = "reference" if record is not None else "predicted"
    return level, f"{float(electrons):g} electrons filling the {which} bands (mesh + path)"


# ---------------------------------------------------------------------------- output
def summary(result: BandResult, target: BandTarget, window_ev: float) -> dict[str, Any]:
    """The JSON summary (errors in meV, energies in eV)."""
    errors = {name: {"mae_mev": e.mae_mev, "max_mev": e.max_mev, "values": e.count,
                     "window_ev": window_ev if name == "window" else plotted_half_range(window_ev)}
              for name, e in result.errors.items()}
    return {"structure": target.name, "path": result.path.path, "labels": result.path.labels,
            "kpoints": len(result.path.kpoints), "bands": _band_count(result.predicted),
            "fermi_level_ev": result.fermi_level * EV_PER_HARTREE, "fermi_level_source": result.fermi_source,
            "errors": errors}


def _band_count(bands: np.ndarray) -> int:
    """Bands with a value at some k-point (NaN padding excluded)."""
    return int(np.isfinite(bands).any(axis=0).sum())


def band_data(result: BandResult, target: BandTarget, window_ev: float) -> dict[str, Any]:
    """Everything of ``bands.json``: summary plus the path and energies (eV)."""

    def in_ev(bands: np.ndarray | None) -> list | None:
        return None if bands is None else (bands * EV_PER_HARTREE).tolist()

    return {**summary(result, target, window_ev), "units": {"energy": "eV", "x": "1/Angstrom",
                                                         "kpoints": "reduced", "errors": "meV"},
            "kpoint_coordinates": result.path.kpoints.tolist(), "x": result.path.x.tolist(),
            "special_x": result.path.special_x.tolist(),
            "reference_ev": in_ev(result.reference), "predicted_ev": in_ev(result.predicted)}


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
    result = compute_bands(trained, target, args)
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
