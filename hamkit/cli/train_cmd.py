"""``hamkit train RECIPE``: train, then evaluate on the test split."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.recipe_cmd import add_set_option
from hamkit.engine.run import RunResult, run_recipe
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.recipe import load_recipe

UNITS = {"psi_cos": "%"}


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", help="Recipe YAML file.")
    parser.add_argument("--out", metavar="RUN_DIR", type=Path, default=None,
                        help="Run directory (default: runs/<recipe name>-<time>).")
    add_set_option(parser)


def metrics_table(result: RunResult) -> Table:
    """The test metrics as a table (micro-Hartree unless marked)."""
    table = Table(title=f"test metrics ({len(result.metrics['h_mae']['per_structure'])} structures)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for key in METRIC_KEYS:
        table.add_row(key, f"{result.metrics[key]['mean']:.2f}", UNITS.get(key, "µHa"))
    return table


def _run(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe, args.overrides)
    out = args.out or Path("runs") / f"{Path(args.recipe).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = run_recipe(recipe, out)
    console = Console()
    history = result.history
    console.print(
        f"trained {history.steps[-1]} steps in {history.seconds:.1f} s "
        f"({history.structures / history.seconds:.1f} structures/s), "
        f"final loss {history.losses[-1]:.3e}, {result.n_parameters:,} parameters"
    )
    console.print(metrics_table(result))
    console.print(f"run directory: {result.out_dir}")
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``train``."""
    commands.add("train", help="Train a recipe's model and evaluate it on the test split.",
                 configure=_configure, run=_run)
