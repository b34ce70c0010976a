"""``hamkit recipe validate|show|schema``."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from hamkit.cli.commands import CommandRegistrar
from hamkit.errors import HamkitError
from hamkit.plugin_host import get_host
from hamkit.recipe import RecipeError, load_recipe
from hamkit.recipe.json_schema import recipe_json_schema


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """The ``--set path.to.key=value`` option every recipe-taking command shares."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="Override a recipe value, e.g. --set train.lr=1e-3 (repeatable; value is YAML).",
    )


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="Check recipes; report every problem.",
                                  description="Validate recipe files (exit 2 if any is invalid).")
    validate.add_argument("files", nargs="+", metavar="FILE")
    add_set_option(validate)
    show = actions.add_parser("show", help="Print a recipe resolved, defaults filled in.",
                              description="Print the resolved recipe (extends and --set applied).")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--json", action="store_true", help="JSON instead of YAML.")
    add_set_option(show)
    actions.add_parser("schema", help="Print the recipe JSON schema for editors.",
                       description="Print the JSON schema of recipes, including every "
                       "registered component's options.")


def _validate(args: argparse.Namespace) -> int:
    failures: list[str] = []
    for file in args.files:
        try:
            recipe = load_recipe(file, args.overrides)
        except RecipeError as error:
            failures.append(str(error))
            continue
        for warning in recipe.warnings:
            print(warning.as_warning(), file=sys.stderr)
        print(f"{file}: ok")
    if failures:
        raise HamkitError("\n".join(failures))
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.action == "validate":
        return _validate(args)
    if args.action == "show":
        resolved = load_recipe(args.file, args.overrides).to_dict()
        print(json.dumps(resolved, indent=2) if args.json else yaml.safe_dump(resolved, sort_keys=False), end="")
        return 0
    print(json.dumps(recipe_json_schema(get_host().registry), indent=2))
    return 0


def add_commands(commands: CommandRegistrar) -> None:
    """Add ``recipe``."""
    commands.add("recipe", help="Validate, resolve and describe YAML recipes.",
                 configure=_configure, run=_run)
