"""``hamkit ablate ABLATION.yaml``: every variant x seed under one budget, then a results report."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from hamkit.ablation import Job, load_ablation, run_all, run_dir_of, validate_variants, write_reports
from hamkit.ablation.manifest import manifest_of, prepare_output
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.output_options import add_overwrite_option
from hamkit.cli.recipe_cmd import add_set_option
from hamkit.errors import HamkitError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ablation", metavar="ABLATION", type=Path, help="Ablation YAML file.")
    add_set_option(parser)
    parser.add_argument("--seeds", type=int, default=None, metavar="N", help="Only the first N seeds.")
    parser.add_argument("--variants", type=int, default=None, metavar="N", help="Only the first N variants.")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="Output folder (default: ablations/<file name>); rerunning the same ablation "
                             "resumes it, another one is refused unless --overwrite.")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="Runs in parallel processes (default 1).")
    add_overwrite_option(parser)
    parser.add_argument("--no-model-check", action="store_true",
                        help="Only validate the variants' recipes up front, do not build their models.")


def _run(args: argparse.Namespace) -> int:
    for option in ("seeds", "variants", "workers"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise HamkitError(f"--{option} must be at least 1")
    ablation = load_ablation(args.ablation, args.overrides)
    variants = ablation.variants[: args.variants] if args.variants else ablation.variants
    seeds = ablation.spec.seeds[: args.seeds] if args.seeds else ablation.spec.seeds
    ablation.spec.variants = {v: ablation.spec.variants[v] for v in variants}
    validate_variants(ablation, check_models=not args.no_model_check)
    out = args.out or Path("ablations") / args.ablation.stem
    console = Console()
    if prepare_output(out, manifest_of(ablation), args.overwrite):
        console.print(f"resuming the ablation in {out} (finished runs are skipped)")
    jobs = [Job(str(args.ablation), tuple(args.overrides), v, s, str(run_dir_of(out, v, s)))
            for v in variants for s in seeds]
    console.print(f"{len(variants)} variants x {len(seeds)} seeds = {len(jobs)} runs in {out}")
    run_all(jobs, workers=args.workers, report=console.print)
    write_reports(out, variants, seeds, title=f"ablation: {args.ablation.name}")
    console.print((out / "results.md").read_text())
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``ablate``."""
    commands.add("ablate", help="Run an ablation (variants x seeds of a recipe) and report mean ± std.",
                 configure=_configure, run=_run)
