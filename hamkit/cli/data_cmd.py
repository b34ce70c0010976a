"""``hamkit data generate|info|convert|merge``: make, inspect, convert and merge Hamiltonian datasets."""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
from typing import Any

from rich.console import Console

from hamkit.cli import data_merge_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.dask_options import add_dask_options, outcome_source
from hamkit.cli.output_options import add_overwrite_option
from hamkit.data.convert import convert
from hamkit.data.store_summary import dataset_info
from hamkit.errors import HamkitError
from hamkit.labelling.inputs import DEFAULT_PRESET_COUNT, label_inputs
from hamkit.labelling.options import LabelOptions, molecular_settings, periodic_settings


# --------------------------------------------------------------------- parser
def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    generate = actions.add_parser(
        "generate", help="Compute H and S with PySCF into a hamkit store (resumable).",
        description="Label structures with PySCF (converged Fock matrix H, overlap S, energy) "
        "and write a hamkit store. Re-running with the same settings resumes: stored "
        "structures are skipped. SCF failures go to <out>.failed.jsonl.")
    source = generate.add_mutually_exclusive_group(required=True)
    source.add_argument("--xyz", metavar="FILE", help="xyz/extxyz file (every frame; ASE).")
    source.add_argument("--smiles", metavar="FILE",
                        help="SMILES list, one per line ('SMILES [name]', '#' comments); "
                        "RDKit ETKDG conformer + MMFF, hydrogens added.")
    source.add_argument("--preset", metavar="NAME", help="Built-in geometries: 'water' "
                        "(random thermal-like distortions, random orientation), or the periodic "
                        "2D materials 'graphene', 'hbn', 'mos2' (distorted primitive cells, "
                        "15 A vacuum; k-mesh SCF, real-space H(R)).")
    generate.add_argument("--out", required=True, metavar="PATH", help="Output store (.h5).")
    generate.add_argument("--count", type=int, metavar="N",
                          help=f"Number of structures (preset default {DEFAULT_PRESET_COUNT}; "
                          "files: all).")
    generate.add_argument("--xc", default=None,
                          help="Functional, or 'hf' (default b3lyp, periodic pbe; use b3lyp5 to "
                          "match QH9).")
    generate.add_argument("--basis", default=None,
                          help="PySCF basis (default def2-svp; periodic: the preset's GTH basis, "
                          "gth-szv or gth-szv-molopt-sr for mos2).")
    generate.add_argument("--grid-level", type=int, default=None,
                          help="PySCF DFT grid level 0-9 (default 3; molecules only).")
    generate.add_argument("--conv-tol", type=float, default=None,
                          help="SCF energy convergence, Hartree (default 1e-9, periodic 1e-8 per cell).")
    generate.add_argument("--max-cycle", type=int, default=100, help="SCF iterations (default 100).")
    generate.add_argument("--kmesh", default=None, metavar="N1,N2,N3",
                          help="Periodic only: Gamma-centred k-mesh (default 6,6,1).")
    generate.add_argument("--pseudo", default=None,
                          help="Periodic only: PySCF pseudopotential (default gth-pbe; 'none' for "
                          "all electrons).")
    generate.add_argument("--max-distance", type=float, default=None, metavar="ANGSTROM",
                          help="Periodic only: keep lattice translations with an atom pair closer "
                          "than this (default 10).")
    generate.add_argument("--ke-cutoff", type=float, default=None, metavar="HARTREE",
                          help="Periodic only: kinetic-energy cut-off of the FFT mesh (default: "
                          "PySCF's estimate; lower values are faster but add ~1 meV noise to H).")
    where = generate.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1,
                       help="Processes, each single-threaded (default 1: this process, "
                       "PySCF's default threads).")
    add_dask_options(where)
    generate.add_argument("--seed", type=int, default=0,
                          help="Seed of the preset distortions / ETKDG embedding (default 0).")
    generate.add_argument("--no-progress", action="store_true", help="No progress bar.")

    info = actions.add_parser("info", help="Describe a hamkit store or another dataset file.",
                              description="Print a store's header and contents; with --from, "
                              "describe a file of another registered dataset (qh9, md17, deeph, ...).")
    info.add_argument("path", metavar="PATH", help="Store file, or embedded:<name>.")
    info.add_argument("--from", dest="format", metavar="FORMAT", default=None,
                      help="Read PATH with this dataset (see 'hamkit plugins list --kind dataset'); "
                      "default: a hamkit store.")
    info.add_argument("--json", action="store_true", help="JSON output.")

    convert = actions.add_parser(
        "convert", help="Convert a dataset to a hamkit store.",
        description="Read any registered dataset (by its name, e.g. 'hamkit') whose options "
        "include 'path', and write its records to a new hamkit store.")
    convert.add_argument("source", metavar="SRC", help="Input file or folder.")
    convert.add_argument("--from", dest="format", required=True, metavar="FORMAT",
                         help="Dataset name (see 'hamkit plugins list --kind dataset').")
    convert.add_argument("--out", required=True, metavar="PATH",
                         help="New store (.h5), written under a temporary name and renamed when complete.")
    convert.add_argument("--limit", type=int, metavar="N", help="Convert only the first N records.")
    add_overwrite_option(convert)
    data_merge_cmd.add_parser(actions)


# --------------------------------------------------------------------- generate
def generate_command_line(args: argparse.Namespace) -> str:
    """The canonical command line of a ``generate`` invocation (recorded in provenance)."""
    parts = ["hamkit", "data", "generate"]
    for option in ("xyz", "smiles", "preset", "out", "count", "xc", "basis", "grid_level",
                   "conv_tol", "max_cycle", "kmesh", "pseudo", "max_distance", "ke_cutoff", "workers",
                   "scheduler", "cluster", "seed"):
        value = getattr(args, option, None)
        if option == "workers" and (getattr(args, "scheduler", None) or getattr(args, "cluster", None)):
            continue  # labelled on a Dask cluster
        if value is not None:
            parts += [f"--{option.replace('_', '-')}", str(value)]
    return shlex.join(parts)


def _label_settings(args: argparse.Namespace, periodic: bool) -> Any:
    """Label settings from the options; the defaults used are filled into ``args`` (for the command line)."""
    given = LabelOptions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(LabelOptions)})
    settings, filled = periodic_settings(given) if periodic else molecular_settings(given)
    vars(args).update(dataclasses.asdict(filled))
    return settings


def _generate(args: argparse.Namespace) -> int:
    from hamkit.labelling.generate import generate

    if args.count is not None and args.count < 1:
        raise HamkitError(f"--count must be >= 1, got {args.count}")
    if args.workers < 1:
        raise HamkitError(f"--workers must be >= 1, got {args.workers}")
    console = Console(stderr=True)
    outcomes = outcome_source(args, console)
    inputs = label_inputs(xyz=args.xyz, smiles=args.smiles, preset=args.preset, count=args.count, seed=args.seed)
    settings = _label_settings(args, inputs.periodic)
    report = generate(inputs.jobs, args.out, settings, workers=args.workers, outcomes=outcomes, source=inputs.source,
                      command_line=generate_command_line(args), progress=not args.no_progress,
                      console=console)
    per = report.seconds / len(report.computed) if report.computed else 0.0
    print(f"{args.out}: computed {len(report.computed)}, already stored {len(report.skipped)}, "
          f"failed {len(report.failed)} in {report.seconds:.1f} s"
          + (f" ({per:.2f} s per structure)" if report.computed else ""))
    if report.failed:
        print(f"failures logged to {report.failed_log}")
    return 0


# --------------------------------------------------------------------- info
def _periodic_line(info: dict[str, Any]) -> str:
    """``  periodic     ...`` line of ``hamkit data info`` (molecules, or pbc and translations)."""
    periodic = info.get("periodic")
    if not periodic or not periodic["structures"]:
        return "  periodic     no (molecules)"
    flags = " ".join("".join("T" if f else "F" for f in pbc) for pbc in periodic["pbc"])
    translations = periodic["translations"]
    return (f"  periodic     {periodic['structures']} of {info['structures']} structures, pbc {flags} "
            f"(a1 a2 a3), {translations['min']}..{translations['max']} lattice translations H(R)")


def _info(args: argparse.Namespace) -> int:
    info = dataset_info(args.path, getattr(args, "format", None))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    provenance = info["provenance"]
    version = f" v{info['version']}" if info.get("version") is not None else ""
    layout = f" ({info['layout']})" if info.get("layout") else ""
    lines = [
        f"{info['path']}: {info['format']}{version}{layout}, {info['size_bytes'] / 1e6:.2f} MB",
        f"  structures   {info['structures']}" + (f" (+{info['incomplete']} incomplete, ignored)"
                                                  if info["incomplete"] else ""),
        f"  elements     {' '.join(info['element_symbols'])}",
        f"  orbitals     {info['orbitals']['min']}..{info['orbitals']['max']} per structure",
        _periodic_line(info),
        f"  basis        {info['basis']['name']}",
        f"  convention   {info['convention']}",
        "  units        " + ", ".join(f"{k} {v}" for k, v in info["units"].items()),
    ]
    lines += [f"  note         {note}" for note in info.get("notes") or []]
    for key in ("code", "code_version", "method", "xc", "grid_level", "pseudo", "kmesh",
                "ke_cutoff", "max_distance", "hamkit_version", "created", "command_line"):
        if provenance.get(key) is not None:
            lines.append(f"  {key:<12} {provenance[key]}")
    for run in provenance.get("resumed") or []:
        lines.append(f"  resumed      {run.get('time')}: {run.get('command_line')}")
    print("\n".join(lines))
    return 0


# --------------------------------------------------------------------- convert
def _convert(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise HamkitError(f"--limit must be >= 1, got {args.limit}")
    command_line = shlex.join(["hamkit", "data", "convert", args.source, "--from", args.format,
                               "--out", args.out]
                              + (["--limit", str(args.limit)] if args.limit else []))
    written = convert(args.source, args.format, args.out, args.limit, command_line, args.overwrite)
    print(f"{args.out}: wrote {written} structures from {args.format} {args.source}")
    return 0


def _run(args: argparse.Namespace) -> int:
    return {"generate": _generate, "info": _info, "convert": _convert,
            "merge": data_merge_cmd.run}[args.action](args)


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``data``."""
    commands.add("data", help="Generate (PySCF), inspect, convert and merge Hamiltonian datasets.",
                 configure=_configure, run=_run)
