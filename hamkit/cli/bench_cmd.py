"""``hamkit bench [RECIPES...]``: training-step and inference time, peak memory and PySCF SCF
time of recipes' models on molecules of growing size."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.recipe_cmd import add_set_option
from hamkit.errors import HamkitError
from hamkit.safe_output import atomic_file

DEFAULT_RECIPES = ("recipes/quickstart.yaml",)
QUICK_REPEATS = 2
QUICK_SIZES = 3


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipes", metavar="RECIPES", nargs="*",
                        help=f"Recipe YAML files (default: {' '.join(DEFAULT_RECIPES)}).")
    parser.add_argument("--json", metavar="FILE", type=Path, default=None, help="Write the results as JSON.")
    parser.add_argument("--dtype", choices=("float32", "float64", "both"), default="float32",
                        help="Parameter dtype (default float32).")
    parser.add_argument("--sizes", metavar="N", type=int, nargs="+", default=None,
                        help="Molecule sizes: carbons of linear alkanes when the basis covers H and C, "
                             "else waters of water clusters (H, O); default 1 2 4 8 16. For recipes on "
                             "periodic data: n x n supercells of the first structure; default 1 2 3 4.")
    parser.add_argument("--repeats", type=int, default=None, help="Timed repeats after a warm-up (default 5).")
    parser.add_argument("--no-scf", action="store_true", help="Skip the PySCF SCF comparison.")
    parser.add_argument("--xc", default="b3lyp", help="Functional of the SCF comparison (default b3lyp).")
    parser.add_argument("--quick", action="store_true",
                        help="Quick check: 1 warm-up, 2 repeats, the 3 smallest sizes, SCF on the smallest only.")
    add_set_option(parser)
    parser.epilog = ("Models are randomly initialized (timing needs no training). Each recipe x dtype runs "
                     "in a fresh process; the SCF runs in this one.")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1e3:.1f}"


def results_table(results: dict[str, Any]) -> Table:
    """The rows as a table; SCF columns only when some row has an SCF."""
    rows = results["rows"]
    with_scf = any(row["scf_s"] is not None for row in rows)
    table = Table(title="hamkit bench")
    for name in ("recipe", "dtype", "device", "molecule", "atoms", "orbitals"):
        table.add_column(name, justify="right" if name in ("atoms", "orbitals") else "left")
    for name in ("train step ms", "inference ms", "peak mem MiB"):
        table.add_column(name, justify="right")
    if with_scf:
        for name in ("SCF s", "cycles", "speed-up"):
            table.add_column(name, justify="right")
    for row in rows:
        cells = [Path(row["recipe"]).name, row["dtype"], row["device"], row["molecule"], str(row["atoms"]),
                 str(row["orbitals"]), _ms(row["train_step_s"]), _ms(row["inference_s"]),
                 f"{row['peak_memory_mb']:.1f}"]
        if with_scf:
            done = row["scf_s"] is not None
            cells += [f"{row['scf_s']:.2f}" if done else "-", str(row["scf_cycles"]) if done else "-",
                      f"{row['speedup']:.0f}x" if done else "-"]
        table.add_row(*cells)
    return table


def _run(args: argparse.Namespace) -> int:
    from hamkit.bench.machine import describe
    from hamkit.bench.suite import BenchSettings, run_bench

    sizes = list(args.sizes) if args.sizes else None
    repeats = args.repeats if args.repeats is not None else (QUICK_REPEATS if args.quick else 5)
    if repeats < 1:
        raise HamkitError("--repeats must be at least 1")
    settings = BenchSettings(
        recipes=args.recipes or list(DEFAULT_RECIPES),
        dtypes=("float32", "float64") if args.dtype == "both" else (args.dtype,),
        sizes=sizes, max_sizes=QUICK_SIZES if args.quick else None, repeats=repeats, scf=not args.no_scf,
        scf_sizes=1 if args.quick else None,
        xc=args.xc, overrides=args.overrides, warmup=1 if args.quick else 3)
    results = run_bench(settings)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    console.print(f"machine: {describe(results['machine'])}", markup=False, highlight=False)
    console.print(results_table(results))
    console.print(f"times: medians after {settings.warmup} warm-up call(s), one structure per batch; "
                  "train step = forward + backward + optimizer step; inference = forward under no_grad; "
                  "peak memory = CUDA peak on GPU, "
                  "else the peak-RSS growth of the fresh process", markup=False, highlight=False)
    if any(row["scf_s"] is not None for row in results["rows"]):
        console.print(f"SCF: PySCF RKS {args.xc} in the model's basis from minao, conv_tol 1e-9; "
                      "speed-up = SCF time / inference time", markup=False, highlight=False)
    if any(row["molecule"].endswith("supercell") for row in results["rows"]):
        console.print("supercells: n x n copies of the recipe's first periodic structure; no SCF comparison "
                      "(one periodic SCF per supercell is beyond a benchmark)", markup=False, highlight=False)
    console.print(f"note: {results['note']}", markup=False, highlight=False)
    if args.json is not None:
        with atomic_file(args.json) as temporary:
            temporary.write_text(json.dumps(results, indent=2))
        console.print(f"wrote {args.json}", markup=False, highlight=False)
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``bench``."""
    commands.add("bench", help="Time training steps and inference, peak memory and PySCF SCF of recipes' "
                                "models on molecules of growing size.",
                 configure=_configure, run=_run)
