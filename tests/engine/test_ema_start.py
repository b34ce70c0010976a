"""train.ema_start: the EMA averages only from that step on; before, the raw weights are evaluated."""

from __future__ import annotations

import torch

from hamkit.engine.checkpoint import load_checkpoint
from hamkit.engine.restore import load_trained_model
from hamkit.engine.run import run_training
from hamkit.recipe import load_recipe

from tests.engine.test_train_end_to_end import TINY

SETTINGS = [*TINY, "train.steps=4", "train.ema_decay=0.5", "train.device=cpu"]


def _train(request, tmp_path, ema_start):
    recipe = load_recipe(request.config.rootpath / "recipes" / "quickstart.yaml",
                         [*SETTINGS, f"train.ema_start={ema_start}"])
    run_dir = tmp_path / f"start{ema_start}"
    run_training(recipe, run_dir, show_progress=False)
    return run_dir, load_checkpoint(run_dir / "checkpoints" / "last.pt")


def test_the_ema_counts_only_steps_from_its_start(request, tmp_path):
    _, state = _train(request, tmp_path, 0)
    assert int(state["ema"]["n_averaged"]) == 4
    run_dir, state = _train(request, tmp_path, 3)
    assert int(state["ema"]["n_averaged"]) == 1  # one update: a copy of the weights after step 4
    for key, value in state["model"].items():
        assert torch.equal(state["ema"][f"module.{key}"], value), key
    assert load_trained_model(run_dir).weights == "ema"


def test_an_ema_that_never_started_is_not_used(request, tmp_path):
    run_dir, state = _train(request, tmp_path, 10)
    assert state["ema"] is None
    assert load_trained_model(run_dir).weights == "model"
