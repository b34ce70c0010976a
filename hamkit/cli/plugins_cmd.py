"""``hamkit plugins list``: every registered component, its provider and options."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from hamkit.cli.commands import CommandRegistrar
from hamkit.components import KINDS
from hamkit.plugin_host import get_host
from hamkit.registry import ComponentRecord


def record_as_json(record: ComponentRecord) -> dict:
    """The JSON object ``plugins list --json`` prints for one component."""
    return {
        "name": record.name,
        "kind": record.kind,
        "provider": record.provider.plugin,
        "module": record.provider.module,
        "distribution": record.provider.distribution,
        "summary": record.summary,
        "options": record.options(),
    }


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="List registered components.",
                                 description="List registered components by kind.")
    listing.add_argument("--kind", choices=KINDS, help="Only this component kind.")
    listing.add_argument("--json", action="store_true", help="Print a JSON list instead of a table.")


def _run(args: argparse.Namespace) -> int:
    host = get_host()
    records = list(host.registry.records(args.kind))
    if args.json:
        print(json.dumps([record_as_json(r) for r in records], indent=2, default=str))
        return 0
    console = Console()
    table = Table(title="hamkit components", show_lines=False)
    for column in ("kind", "name", "provider", "summary", "options"):
        table.add_column(column, overflow="fold")
    for record in records:
        options = ", ".join(option["name"] for option in record.options())
        table.add_row(record.kind, record.name, record.provider.plugin, record.summary, options)
    console.print(table)
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``plugins``."""
    commands.add("plugins", help="Inspect installed plugins and their components.",
                 configure=_configure, run=_run)
