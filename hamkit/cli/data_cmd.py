"""``hamkit data generate|info|convert|merge``: make, inspect, convert and merge Hamiltonian datasets."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

import hamkit
from hamkit.cli import data_merge_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.dask_options import add_dask_options, outcome_source
from hamkit.cli.output_options import add_overwrite_option
from hamkit.errors import HamkitError
from hamkit.safe_output import atomic_file, refuse_existing

DEFAULT_PRESET_COUNT = 10


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
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def parse_kmesh(text: str) -> tuple[int, int, int]:
    """``"6,6,1"`` (or ``"6x6x1"``) to ``(6, 6, 1)``.

    Raises:
        HamkitError: Not three positive integers.
    """
    fields = text.replace("x", ",").split(",")
    try:
        mesh = tuple(int(field) for field in fields)
    except ValueError:
        mesh = ()
    if len(mesh) != 3 or min(mesh) < 1:
        raise HamkitError(f"--kmesh {text!r}: expected three positive integers such as 6,6,1")
    return mesh  # type: ignore[return-value]


def _molecular_settings(args: argparse.Namespace) -> Any:
    """LabelSettings from the options (defaults filled into ``args`` for the command line)."""
    from hamkit.data.pyscf_labels import LabelSettings

    given = [f"--{name.replace('_', '-')}" for name in ("kmesh", "pseudo", "max_distance", "ke_cutoff")
             if getattr(args, name) is not None]
    if given:
        raise HamkitError(f"{', '.join(given)} only apply to periodic structures (presets graphene, hbn, "
                          "mos2, or extxyz frames with a Lattice and pbc)")
    args.xc = args.xc or "b3lyp"
    args.basis = args.basis or "def2-svp"
    args.grid_level = 3 if args.grid_level is None else args.grid_level
    args.conv_tol = 1e-9 if args.conv_tol is None else args.conv_tol
    return LabelSettings(xc=args.xc, basis=args.basis, grid_level=args.grid_level,
                         conv_tol=args.conv_tol, max_cycle=args.max_cycle)


def _periodic_settings(args: argparse.Namespace) -> Any:
    """PeriodicLabelSettings from the options (defaults filled into ``args``)."""
    from hamkit.data.pbc_labels import PeriodicLabelSettings
    from hamkit.data.periodic_sources import MATERIALS

    if args.grid_level is not None:
        raise HamkitError("--grid-level applies to molecules only (periodic labels use PySCF's "
                          "FFT mesh)")
    defaults = PeriodicLabelSettings()
    args.xc = args.xc or defaults.xc
    args.basis = args.basis or (MATERIALS[args.preset].basis if args.preset in MATERIALS else defaults.basis)
    args.pseudo = args.pseudo or defaults.pseudo
    args.conv_tol = defaults.conv_tol if args.conv_tol is None else args.conv_tol
    kmesh = parse_kmesh(args.kmesh) if args.kmesh is not None else defaults.kmesh
    args.kmesh = ",".join(str(n) for n in kmesh)
    args.max_distance = defaults.max_distance if args.max_distance is None else args.max_distance
    if args.max_distance <= 0:
        raise HamkitError(f"--max-distance must be > 0, got {args.max_distance}")
    return PeriodicLabelSettings(xc=args.xc, basis=args.basis,
                                 pseudo=None if args.pseudo.lower() == "none" else args.pseudo,
                                 kmesh=kmesh, conv_tol=args.conv_tol, max_cycle=args.max_cycle,
                                 max_distance=args.max_distance, ke_cutoff=args.ke_cutoff)


def _generate(args: argparse.Namespace) -> int:
    from hamkit.data import sources
    from hamkit.data.generate import generate

    if args.count is not None and args.count < 1:
        raise HamkitError(f"--count must be >= 1, got {args.count}")
    if args.workers < 1:
        raise HamkitError(f"--workers must be >= 1, got {args.workers}")
    console = Console(stderr=True)
    outcomes = outcome_source(args, console)
    source: dict[str, Any]
    if args.preset is not None:
        jobs = sources.preset_jobs(args.preset, args.count or DEFAULT_PRESET_COUNT, args.seed)
        source = {"kind": "preset", "name": args.preset, "seed": args.seed}
    elif args.smiles is not None:
        jobs = sources.smiles_jobs(args.smiles, args.seed, args.count)
        path = Path(args.smiles)
        source = {"kind": "smiles", "file": path.name, "sha256": _sha256(path), "seed": args.seed}
    else:
        jobs = sources.xyz_jobs(args.xyz, args.count)
        path = Path(args.xyz)
        source = {"kind": "xyz", "file": path.name, "sha256": _sha256(path)}
    periodic = args.preset in sources.PERIODIC_PRESETS or any(
        job.structure is not None and job.structure.is_periodic for job in jobs)
    settings = _periodic_settings(args) if periodic else _molecular_settings(args)
    report = generate(jobs, args.out, settings, workers=args.workers, outcomes=outcomes, source=source,
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
def store_info(path: str) -> dict[str, Any]:
    """What ``hamkit data info --json`` prints.

    Args:
        path: Store file or ``embedded:<name>``.

    Returns:
        ``{"path", "format", "version", "structures", "incomplete", "elements",
        "element_symbols", "orbitals": {"min", "max"}, "periodic", "basis", "convention",
        "units", "provenance", "size_bytes"}``; ``periodic`` is ``{"structures": number of
        periodic records, "pbc": [[a1, a2, a3], ...] distinct flags, "translations":
        {"min", "max"}}``.
    """
    from pyscf.data.elements import ELEMENTS

    from hamkit.data.store import StoreReader

    file = _resolve(path)
    with StoreReader(file) as store:
        elements = store.elements()
        header = store.header
        sizes = [header.basis.total_orbitals(store.numbers(key)) for key in store.keys]
        periodicity = [p for p in (store.periodicity(key) for key in store.keys) if p is not None]
        return {
            "path": str(file),
            "format": header.format,
            "version": header.version,
            "structures": len(store),
            "incomplete": len(store.incomplete_keys),
            "elements": elements,
            "element_symbols": [ELEMENTS[z] for z in elements],
            "orbitals": {"min": min(sizes, default=0), "max": max(sizes, default=0)},
            "periodic": _periodic_summary(periodicity),
            "basis": header.basis.to_dict(),
            "convention": header.convention,
            "units": header.units,
            "provenance": header.provenance,
            "size_bytes": file.stat().st_size,
        }


def _periodic_summary(periodicity: list[tuple[tuple[bool, bool, bool], int]]) -> dict[str, Any]:
    """The ``periodic`` entry of :func:`store_info` from ``(pbc, n_translations)`` per record."""
    counts = [count for _, count in periodicity]
    return {"structures": len(periodicity),
            "pbc": sorted({tuple(pbc) for pbc, _ in periodicity}, reverse=True),
            "translations": {"min": min(counts, default=0), "max": max(counts, default=0)}}


def _periodic_line(info: dict[str, Any]) -> str:
    """``  periodic     ...`` line of ``hamkit data info`` (molecules, or pbc and translations)."""
    periodic = info.get("periodic")
    if not periodic or not periodic["structures"]:
        return "  periodic     no (molecules)"
    flags = " ".join("".join("T" if f else "F" for f in pbc) for pbc in periodic["pbc"])
    translations = periodic["translations"]
    return (f"  periodic     {periodic['structures']} of {info['structures']} structures, pbc {flags} "
            f"(a1 a2 a3), {translations['min']}..{translations['max']} lattice translations H(R)")


def dataset_info(path: str, format_name: str | None = None) -> dict[str, Any]:
    """What ``hamkit data info [--from FORMAT] --json`` prints.

    Args:
        path: Store file, ``embedded:<name>``, or a file/folder of dataset ``format_name``.
        format_name: Registered dataset name; None or ``"hamkit"`` reads a hamkit store.

    Returns:
        :func:`store_info`'s dictionary; other datasets return it from their ``describe()``
        (``version`` may be None; ``layout`` and ``notes`` may be added).

    Raises:
        HamkitError: Unknown dataset, or one without a ``describe()`` method.
    """
    if format_name is None or format_name == "hamkit":
        return store_info(path)
    dataset = _open_source(path, format_name, None)
    describe = getattr(dataset, "describe", None)
    if describe is None:
        raise HamkitError(f"dataset '{format_name}' cannot describe its files (it has no "
                          "describe() method): convert it with 'hamkit data convert' first")
    return describe()


def _resolve(path: str) -> Path:
    """A file path; ``embedded:<name>`` is resolved by the ``hamkit`` dataset plugin that ships it."""
    if not path.startswith("embedded:"):
        return Path(path)
    from hamkit.plugin_host import get_host

    if "hamkit" not in get_host().registry.names("dataset"):
        raise HamkitError(f"{path}: embedded data ships with the 'datasets' plugin, which is not "
                          "loaded (check HAMKIT_PLUGINS / HAMKIT_DISABLE_PLUGINS)")
    return Path(_open_source(path, "hamkit", None).path)


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
def _open_source(source: str, format_name: str, limit: int | None) -> Any:
    """Build the dataset ``format_name`` on ``source`` through the plugin registry."""
    from hamkit.engine.prepare import open_dataset_file
    from hamkit.plugin_host import get_host

    if format_name == "hamkit" and "hamkit" not in get_host().registry.names("dataset"):
        from hamkit.data.store import StoreReader

        return StoreReader(_resolve(source))
    return open_dataset_file(source, format_name, limit)


def convert(source: str, format_name: str, out: str | Path, limit: int | None = None,
            command_line: str | None = None, overwrite: bool = False) -> int:
    """Write the records of a registered dataset to a new hamkit store.

    Args:
        source: Input path (the dataset's ``path`` option).
        format_name: Registered dataset name, or ``"hamkit"``.
        out: New store; must not exist unless ``overwrite``. It is written under a temporary
            name and renamed when complete: a failure leaves nothing (and an old ``out``
            untouched).
        limit: Convert only the first ``limit`` records.
        command_line: Recorded in the provenance.
        overwrite: Replace an existing ``out``.

    Returns:
        Number of records written.

    Raises:
        HamkitError: ``out`` exists, unknown format, the dataset exposes no ``basis``.
    """
    from hamkit.data.store import StoreHeader, StoreWriter

    out = Path(out)
    if not overwrite:
        refuse_existing(out)
    dataset = _open_source(source, format_name, limit)
    basis = getattr(dataset, "basis", None)
    if basis is None:
        raise HamkitError(f"dataset '{format_name}' does not expose its orbital basis "
                          "(a 'basis' attribute): cannot write a store")
    original = getattr(dataset, "provenance", None)
    if original is None and hasattr(dataset, "header"):
        original = dataset.header.provenance
    provenance = {**(original or {}),
                  "converted_from": {"format": format_name, "path": str(source)},
                  "hamkit_version": hamkit.__version__, "command_line": command_line,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    count = len(dataset) if limit is None else min(limit, len(dataset))
    written = 0
    with atomic_file(out) as temporary, StoreWriter(temporary, StoreHeader(basis, provenance)) as writer:
        for index in range(count):
            record = dataset[index]
            if not record.key:
                record = dataclasses.replace(record, key=f"{index:06d}")
            writer.write(record)
            written += 1
    return written


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
