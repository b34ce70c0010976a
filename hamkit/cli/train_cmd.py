"""``hamkit train RECIPE`` and ``hamkit train --resume RUN_DIR``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.recipe_cmd import add_set_option
from hamkit.engine.distributed import from_environment, shutdown
from hamkit.engine.run import RunResult, check_replaceable, load_run_recipe, run_training
from hamkit.engine.run_layout import RunLayout
from hamkit.engine.trainer import TrainingInterrupted
from hamkit.errors import HamkitError
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.recipe import load_recipe
from hamkit.safe_output import refuse_existing

UNITS = {"psi_cos": "%"}


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", nargs="?", help="Recipe YAML file.")
    parser.add_argument("--out", metavar="RUN_DIR", type=Path, default=None,
                        help="Run directory (default: runs/<recipe name>-<time>).")
    parser.add_argument("--resume", metavar="RUN_DIR", type=Path, default=None,
                        help="Continue an interrupted run from its last checkpoint.")
    parser.add_argument("--overwrite", action="store_true",
                        help="Replace an existing run directory given with --out (its results are deleted).")
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_set_option(parser)
    parser.epilog = ("Multi-GPU / multi-node: torchrun --nproc_per_node=N -m hamkit.cli.main train RECIPE")


MEV_PER_MICRO_HARTREE = 27.211386245988e-3
"""1 micro-Hartree in meV (CODATA 2018), for the materials column."""


def metrics_table(metrics: dict[str, dict], title: str, materials: bool = False) -> Table:
    """Metrics as a table (micro-Hartree unless marked; ``materials`` adds a meV column)."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    if materials:
        table.add_column("meV", justify="right")
    for key in METRIC_KEYS:
        value = metrics[key]["mean"]
        unit = UNITS.get(key, "µHa")
        row = [key, f"{value:.2f}", unit]
        if materials:
            row.append(f"{value * MEV_PER_MICRO_HARTREE:.2f}" if unit == "µHa" else "")
        table.add_row(*row)
    return table


def _best_validation(loop) -> str:
    if loop.best_value == float("inf"):
        return "no validation"
    return f"best validation H MAE {loop.best_value:.1f} µHa at step {loop.best_step}"


def _summary(result: RunResult) -> None:
    console = Console()
    loop = result.loop
    console.print(
        f"trained {loop.step} steps in {loop.seconds:.1f} s "
        f"({loop.structures / max(loop.seconds, 1e-9):.1f} structures/s), "
        f"{loop.skipped} skipped, {_best_validation(loop)}, {result.n_parameters:,} parameters"
    )
    if result.metrics:
        count = len(result.metrics["h_mae"]["per_structure"])
        console.print(metrics_table(result.metrics, f"test metrics ({count} structures)", result.periodic))
    console.print(f"run directory: {result.run_dir} (plots in {result.run_dir / 'plots'})")


def _run(args: argparse.Namespace) -> int:
    if args.resume is not None:
        if args.recipe or args.overrides or args.out or args.overwrite:
            raise HamkitError("--resume RUN_DIR continues a run as it was: give no RECIPE, --set, --out "
                              "or --overwrite")
        recipe, run_dir = load_run_recipe(args.resume), args.resume
    elif args.recipe is None:
        raise HamkitError("give a RECIPE to train, or --resume RUN_DIR")
    else:
        recipe = load_recipe(args.recipe, args.overrides)
        for warning in recipe.warnings:
            Console(stderr=True, soft_wrap=True).print(warning.as_warning(), style="yellow", markup=False,
                                                        highlight=False)
        run_dir = args.out or Path("runs") / f"{Path(args.recipe).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        if not args.overwrite:
            refuse_existing(run_dir, hint=f"to continue that run: hamkit train --resume {run_dir}")
        else:
            check_replaceable(run_dir)
    distributed = from_environment()
    try:
        run_dir = Path(distributed.broadcast_text(str(run_dir)))
        result = run_training(recipe, run_dir, resume=args.resume is not None, distributed=distributed,
                              show_progress=not args.no_progress, overwrite=args.overwrite)
    except TrainingInterrupted as stop:
        Console(stderr=True, soft_wrap=True).print(
            f"stopped by {stop}: the last completed step is saved in {RunLayout(run_dir).last_checkpoint}; "
            f"continue with: hamkit train --resume {run_dir}", markup=False, highlight=False)
        raise
    finally:
        shutdown(distributed)
    if distributed.is_main:
        _summary(result)
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``train``."""
    commands.add("train", help="Train a recipe's model (or resume a run) and evaluate it on the test split.",
                 configure=_configure, run=_run)
