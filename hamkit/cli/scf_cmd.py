"""``hamkit scf RUN_DIR_OR_CKPT (STRUCTURE_FILES... | --split test) [--xc b3lyp] [--basis NAME] [--json]``.

DFT acceleration (METHOD.md section 7): PySCF's SCF started from the density of the
predicted H, against the default 'minao' guess; QH9 reports the cycle ratio.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from rich.console import Console, JustifyMethod
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.eval_cmd import SPLITS, run_split
from hamkit.cli.model_options import (
    MANY_STRUCTURES,
    add_model_argument,
    describe_model,
    load_model,
    positive_float,
    positive_int,
    print_json,
    stderr_tracker,
)
from hamkit.data.geometry_checks import check_overlap
from hamkit.data.structure_files import NamedStructure, read_structure_files
from hamkit.engine.inference import predict_matrices, size_warnings
from hamkit.engine.prepare import report_warnings
from hamkit.engine.pyscf_bridge import model_molecule, same_basis_name
from hamkit.engine.restore import TrainedModel
from hamkit.engine.run_layout import RECIPE_FILE
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_from_canonical
from hamkit.physics.scf import SCFCycleComparison, scf_cycles_from_guess


@dataclass(frozen=True)
class SCFRow:
    """One structure's result."""

    name: str
    atoms: int
    result: SCFCycleComparison

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        r = self.result
        return {"name": self.name, "atoms": self.atoms, "cycles_predicted": r.cycles_guess,
                "cycles_minao": r.cycles_minao, "ratio": r.ratio, "converged_predicted": r.converged_guess,
                "converged_minao": r.converged_minao, "energy_predicted": r.energy_guess,
                "energy_minao": r.energy_minao}


def _configure(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("structures", nargs="*", metavar="STRUCTURE_FILE",
                        help="Files ASE reads (xyz, extxyz, ...); every frame is one molecule.")
    parser.add_argument("--split", choices=SPLITS, default=None,
                        help=f"Instead of files: the molecules of a split of the run's own dataset, "
                             f"re-made from {RECIPE_FILE}.")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="Only the first N molecules (of the files or the split).")
    parser.add_argument("--xc", default="b3lyp",
                        help="Functional (default: b3lyp; b3lyp5 for QH9 labels; hf for Hartree-Fock).")
    parser.add_argument("--basis", default=None,
                        help="Basis set; must be the model's (default: the model's).")
    parser.add_argument("--charge", type=int, default=None,
                        help="Total charge of every molecule (default: the frame's 'charge' entry, else 0).")
    parser.add_argument("--conv-tol", type=positive_float, default=1e-9, help="SCF energy threshold, Hartree.")
    parser.add_argument("--max-cycle", type=positive_int, default=100, help="Cycle limit of each SCF run.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")


def _check_xc(xc: str) -> None:
    if xc.lower() in ("hf", "rhf"):
        return
    from pyscf.dft import libxc

    try:
        libxc.parse_xc(xc)
    except (KeyError, ValueError) as error:
        raise HamkitError(f"PySCF does not know the functional {xc!r}: {error}") from None


def compare_cycles(trained: TrainedModel, structures: list[NamedStructure], xc: str, conv_tol: float,
                   max_cycle: int, batch_size: int | None = None, track=None) -> list[SCFRow]:
    """SCF cycles from the predicted H and from 'minao' for each molecule.

    Every molecule is checked before any prediction runs; molecules far larger than the
    training set get a size warning on stderr.

    Raises:
        HamkitError: An element outside the basis, an open-shell molecule, or a singular
            or indefinite overlap matrix S.
    """
    graphs = [trained.graph(item.structure, item.name) for item in structures]
    molecules = [model_molecule(item.structure, trained.basis, closed_shell=True) for item in structures]
    for item, mol in zip(structures, molecules):
        check_overlap(mol.intor("int1e_ovlp"), item.name)
    report_warnings(size_warnings(trained, structures, graphs))
    predicted = predict_matrices(trained, graphs, batch_size=batch_size)
    pairs = list(zip(structures, molecules, predicted))
    rows = []
    for item, mol, hamiltonian in (track(pairs, "SCF") if track else pairs):
        guess = matrix_from_canonical(hamiltonian, item.structure.numbers, trained.basis, "pyscf")
        result = scf_cycles_from_guess(mol, guess, xc, conv_tol=conv_tol, max_cycle=max_cycle)
        rows.append(SCFRow(item.name, item.structure.n_atoms, result))
    return rows


def cycles_table(rows: list[SCFRow], title: str) -> Table:
    """Per-molecule cycles and ratio, and the means."""
    table = Table(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("structure", "left"), ("atoms", "right"), ("cycles (predicted H)", "right"),
        ("cycles (minao)", "right"), ("ratio", "right"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for row in rows:
        r = row.result
        flag = "" if r.converged_guess and r.converged_minao else " (not converged)"
        table.add_row(row.name, str(row.atoms), str(r.cycles_guess), str(r.cycles_minao), f"{r.ratio:.2f}{flag}")
    means = cycle_summary(rows)
    table.add_section()
    table.add_row("mean", "", f"{means['cycles_predicted']:.1f}", f"{means['cycles_minao']:.1f}",
                  f"{means['ratio']:.2f} ± {means['ratio_std']:.2f}")
    return table


def cycle_summary(rows: list[SCFRow]) -> dict[str, float]:
    """Mean cycles of both starts, the ratio's mean, std (ddof=1) and median, and unconverged runs."""
    ratios = np.array([r.result.ratio for r in rows])
    return {"cycles_predicted": float(np.mean([r.result.cycles_guess for r in rows])),
            "cycles_minao": float(np.mean([r.result.cycles_minao for r in rows])),
            "ratio": float(np.mean(ratios)),
            "ratio_std": float(np.std(ratios, ddof=1)) if len(ratios) > 1 else 0.0,
            "ratio_median": float(np.median(ratios)),
            "not_converged": sum(not (r.result.converged_guess and r.result.converged_minao) for r in rows)}


def split_structures(trained: TrainedModel, split: str) -> list[NamedStructure]:
    """The molecules of a split of the run's own dataset (re-made from its recipe), named by record.

    Raises:
        HamkitError: The dataset cannot be opened or the split is empty.
    """
    dataset, indices = run_split(trained, split)
    if len(indices) == 0:
        raise HamkitError(f"the run's {split} split is empty: nothing to run SCF on")
    source = dataset.path or "data"
    structures = []
    for index in indices:
        record = dataset[int(index)]
        structures.append(NamedStructure(f"{source}: record {record.key or index}", record.structure))
    return structures


def file_structures(args: argparse.Namespace) -> list[NamedStructure] | None:
    """The structure files' molecules, or None with ``--split``; checks exactly one source is given.

    Raises:
        HamkitError: Both or neither of files and ``--split``, ``--charge`` with ``--split``, or
            an unreadable file.
    """
    if bool(args.structures) == (args.split is not None):
        raise HamkitError("give structure files or --split (test, val, train or all), not both and not neither")
    if args.split is not None:
        if args.charge is not None:
            raise HamkitError("--charge applies to structure files; with --split the molecules carry their own charge")
        return None
    return read_structure_files(args.structures, args.charge)


def _run(args: argparse.Namespace) -> int:
    _check_xc(args.xc)
    files = file_structures(args)
    trained = load_model(args)
    structures = files if files is not None else split_structures(trained, args.split)
    structures = structures[: args.limit] if args.limit else structures
    if args.basis is not None and not same_basis_name(args.basis, trained.basis.name):
        raise HamkitError(f"--basis {args.basis!r} is not the model's basis '{trained.basis.name}': the "
                          "predicted H only makes sense in the basis it was trained in")
    track = stderr_tracker(not args.no_progress and len(structures) >= MANY_STRUCTURES)
    rows = compare_cycles(trained, structures, args.xc, args.conv_tol, args.max_cycle, args.batch_size, track)
    if args.json:
        print_json({"xc": args.xc, "basis": trained.basis.name, "structures": [row.to_dict() for row in rows],
                    "mean": cycle_summary(rows)})
        return 0
    console = Console()
    console.print(f"model: {describe_model(trained)}", markup=False, highlight=False)
    console.print(cycles_table(rows, f"SCF cycles, {args.xc}/{trained.basis.name}, "
                                     f"conv_tol {args.conv_tol:g} (ratio = predicted / minao)"))
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``scf``."""
    commands.add("scf", help="PySCF SCF cycles started from the predicted H versus the 'minao' guess.",
                 configure=_configure, run=_run)
