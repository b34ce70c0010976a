"""``hamkit data merge A.h5 B.h5 [...] --out OUT.h5``: one store from stores made apart."""

from __future__ import annotations

import argparse
import shlex

from hamkit.cli.output_options import add_overwrite_option


def add_parser(actions: argparse._SubParsersAction) -> None:
    """Add the ``merge`` action to ``hamkit data``."""
    merge = actions.add_parser(
        "merge", help="Merge hamkit stores made with the same label settings.",
        description="Write the records of two or more stores (e.g. labelled on different machines) "
        "to one new store. The stores must have the same label settings (code, version, functional, "
        "basis, grid, convergence, ...), no record key or input in common, and no damaged or "
        "incomplete records. The output is written under a temporary name and renamed when complete.")
    merge.add_argument("stores", nargs="+", metavar="STORE", help="Stores (.h5) to merge, in order.")
    merge.add_argument("--out", required=True, metavar="PATH", help="The merged store (.h5).")
    add_overwrite_option(merge)


def run(args: argparse.Namespace) -> int:
    """Merge, then print ``OUT: merged N records from K stores (a.h5 3, b.h5 4)``."""
    from hamkit.data.store.merge import merge_stores

    command_line = shlex.join(["hamkit", "data", "merge", *args.stores, "--out", args.out])
    report = merge_stores(args.stores, args.out, overwrite=args.overwrite, command_line=command_line)
    parts = ", ".join(f"{name} {count}" for name, count in zip(args.stores, report.counts))
    print(f"{report.out}: merged {report.total} records from {len(report.counts)} stores ({parts})")
    return 0
