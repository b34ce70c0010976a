"""``--overwrite``: the option every command writing an output shares, and its check."""

from __future__ import annotations

import argparse
from pathlib import Path

from hamkit.safe_output import refuse_existing


def add_overwrite_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--overwrite`` (without it, an existing output is refused before any work)."""
    parser.add_argument("--overwrite", action="store_true",
                        help="Replace an existing output (it is replaced only when the new one is complete).")


def check_output(path: Path, args: argparse.Namespace, option: str = "--out") -> None:
    """Refuse an existing output unless the command line says ``--overwrite``.

    Raises:
        OutputExistsError: ``path`` exists and ``--overwrite`` was not given.
    """
    if not getattr(args, "overwrite", False):
        refuse_existing(path, option)
