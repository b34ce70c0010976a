"""Resume after kill -9 reaches exactly the result of an uninterrupted run (CPU, float64)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hamkit.engine.run import run_training
from hamkit.recipe import load_recipe
from hamkit.safe_loading import UnsafeCheckpointError
from hamkit.engine.checkpoint import load_checkpoint
from tests.engine.test_train_end_to_end import TINY

STEPS = 24
SETTINGS = [*TINY, f"train.steps={STEPS}", "train.checkpoint_every=2", "train.eval_every=10",
            "train.dtype=float64", "train.ema_decay=0.9", "train.warmup_steps=3", "train.device=cpu"]


def checkpoint_step(path):
    try:
        return torch.load(path, weights_only=True)["loop"]["step"]
    except Exception:  # noqa: BLE001 - not written yet
        return -1


def test_resume_after_kill_is_bitwise_exact(tmp_path, request):
    recipe_path = request.config.rootpath / "recipes" / "quickstart.yaml"
    reference = run_training(load_recipe(recipe_path, SETTINGS), tmp_path / "reference", show_progress=False)

    killed = tmp_path / "killed"
    argv = [sys.executable, "-m", "hamkit.cli.main", "train", str(recipe_path), "--out", str(killed),
            "--no-progress"]
    for assignment in SETTINGS:
        argv += ["--set", assignment]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last.pt"
    deadline = time.time() + 300
    while checkpoint_step(last) < 4 and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    interrupted_at = checkpoint_step(last)
    assert 4 <= interrupted_at < STEPS, "the run finished before it could be killed"

    resumed = run_training(load_recipe(killed / "recipe.yaml"), killed, resume=True, show_progress=False)
    assert resumed.loop.step == STEPS
    expected = torch.load(tmp_path / "reference" / "checkpoints" / "last.pt", weights_only=True)
    actual = torch.load(last, weights_only=True)
    for key, tensor in expected["model"].items():
        assert torch.equal(tensor, actual["model"][key]), key
    assert json.loads((killed / "test_metrics.json").read_text())["test"] == \
        json.loads((tmp_path / "reference" / "test_metrics.json").read_text())["test"]
    assert reference.metrics == resumed.metrics


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path):
    import argparse

    path = tmp_path / "last.pt"
    torch.save({"version": 1, "model": {}, "payload": argparse.Namespace(x=1)}, path)
    with pytest.raises(UnsafeCheckpointError, match="pickled Python objects"):
        load_checkpoint(path)
