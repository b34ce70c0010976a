"""``hamkit ablate ABLATION.yaml``: every variant x seed under one budget, then a results report.

``--report-only`` trains nothing: it rewrites the report from the runs already finished in
the output folder, listing the unfinished ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from hamkit.ablation import Ablation, Job, load_ablation, run_all, run_dir_of, validate_variants, write_reports
from hamkit.ablation.manifest import MANIFEST_FILE, manifest_of, prepare_output
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.output_options import add_overwrite_option
from hamkit.cli.recipe_cmd import add_set_option
from hamkit.errors import HamkitError
from hamkit.safe_output import OutputExistsError


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
    parser.add_argument("--report-only", action="store_true",
                        help="Train nothing: write the report from the runs already finished in --out "
                             "(give the same --set and --variants as the run); unfinished runs are listed.")


def _check_counts(args: argparse.Namespace) -> None:
    for option in ("seeds", "variants", "workers"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise HamkitError(f"--{option} must be at least 1")
    if args.report_only and args.overwrite:
        raise HamkitError("--report-only replaces nothing but the report; leave out --overwrite")


def _select(ablation: Ablation, args: argparse.Namespace) -> tuple[list[str], list[int]]:
    """The variants and seeds to run or report; narrows the ablation to those variants (its manifest too)."""
    variants = ablation.variants[: args.variants] if args.variants else ablation.variants
    seeds = ablation.spec.seeds[: args.seeds] if args.seeds else ablation.spec.seeds
    ablation.spec.variants = {v: ablation.spec.variants[v] for v in variants}
    return variants, seeds


def check_report_folder(out: Path, manifest: dict) -> None:
    """Refuse to report on ``out`` unless it is this ablation's folder.

    Args:
        out: The ablation folder.
        manifest: :func:`~hamkit.ablation.manifest.manifest_of` the ablation to report.

    Raises:
        HamkitError: ``out`` does not exist, is not a folder or is not an ablation's folder.
        OutputExistsError: ``out`` holds another ablation (or this one with other options).
    """
    if not out.exists():
        raise HamkitError(f"--out {out}: no such folder, so no finished runs to report; "
                          "run the ablation first or give the --out it wrote to")
    if not out.is_dir():
        raise HamkitError(f"--out {out}: is a file, not an ablation folder")
    try:
        recorded = json.loads((out / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        raise HamkitError(f"--out {out}: is not an ablation folder (no readable {MANIFEST_FILE})") from None
    if recorded != manifest:
        name = recorded.get("ablation", "?") if isinstance(recorded, dict) else "?"
        raise OutputExistsError(f"--out {out}: holds another ablation ({name}) or this one with other "
                                "--set/--variants; give the ablation file and options its runs were made with")


def _train(ablation: Ablation, args: argparse.Namespace, out: Path, variants: list[str], seeds: list[int],
           console: Console) -> None:
    validate_variants(ablation, check_models=not args.no_model_check)
    if prepare_output(out, manifest_of(ablation), args.overwrite):
        console.print(f"resuming the ablation in {out} (finished runs are skipped)")
    jobs = [Job(str(args.ablation), tuple(args.overrides), v, s, str(run_dir_of(out, v, s)))
            for v in variants for s in seeds]
    console.print(f"{len(variants)} variants x {len(seeds)} seeds = {len(jobs)} runs in {out}")
    run_all(jobs, workers=args.workers, report=console.print)


def _run(args: argparse.Namespace) -> int:
    _check_counts(args)
    ablation = load_ablation(args.ablation, args.overrides)
    variants, seeds = _select(ablation, args)
    out = args.out or Path("ablations") / args.ablation.stem
    console = Console()
    if args.report_only:
        check_report_folder(out, manifest_of(ablation))
    else:
        _train(ablation, args, out, variants, seeds, console)
    write_reports(out, variants, seeds, title=f"ablation: {args.ablation.name}")
    console.print((out / "results.md").read_text())
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``ablate``."""
    commands.add("ablate", help="Run an ablation (variants x seeds of a recipe) and report mean ± std.",
                 configure=_configure, run=_run)
