"""A tiny trained run directory, and the command line with the model commands."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import hamkit  # noqa: F401 - before e3nn

from hamkit.cli import eval_cmd, predict_cmd, scf_cmd

cli_main = importlib.import_module("hamkit.cli.main")

TINY = [
    "data.dataset.limit=10",
    "model.featurizer.hidden=4", "model.featurizer.num_layers=2", "model.featurizer.sh_lmax=2",
    "model.featurizer.bottleneck=4", "model.featurizer.num_radial=4", "model.featurizer.radial_hidden=8",
    "model.invariant_encoder.num_scalars=8", "model.invariant_encoder.hidden=[8]",
    "train.steps=3", "train.batch_size=2",
]
MODEL_COMMANDS = (eval_cmd, predict_cmd, scf_cmd)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory, request) -> Path:
    """A run directory of the quickstart recipe trained for 3 steps on 10 waters (~10 s)."""
    from hamkit.engine.run import run_training
    from hamkit.recipe import load_recipe

    recipe = load_recipe(request.config.rootpath / "recipes" / "quickstart.yaml", TINY)
    out = tmp_path_factory.mktemp("workflows") / "run"
    run_training(recipe, out, show_progress=False)
    return out


@pytest.fixture
def cli(capsys, monkeypatch):
    """``cli(*argv) -> (exit code, stdout, stderr)`` with eval/predict/scf registered."""
    missing = tuple(m for m in MODEL_COMMANDS if m not in cli_main.BUILTIN_COMMAND_MODULES)
    monkeypatch.setattr(cli_main, "BUILTIN_COMMAND_MODULES", cli_main.BUILTIN_COMMAND_MODULES + missing)

    def run(*argv: object) -> tuple[int, str, str]:
        code = cli_main.main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
