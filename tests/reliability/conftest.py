"""Shared pieces of the reliability suite: a tiny trained run, folder snapshots, a CLI runner."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from hamkit.cli.main import main

from tests.engine.test_train_end_to_end import TINY


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (hidden files included)."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``hamkit ARGV`` in-process: ``(exit status, stdout, stderr)``; tracebacks fail the test.

    argparse's usage errors leave through ``SystemExit``; their status is returned too.
    """
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Traceback" not in captured.out, captured.err
    return status, captured.out, captured.err


def tiny_train_argv(recipe: Path, out: Path, *extra: str) -> list[str]:
    """``train RECIPE --out OUT --set ...`` for the tiny quick-start model."""
    argv = ["train", str(recipe), "--out", str(out), "--no-progress"]
    for assignment in [*TINY, "train.checkpoint_every=1", "train.log_every=1", *extra]:
        argv += ["--set", assignment]
    return argv


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, quickstart_recipe) -> Path:
    """A finished tiny run (3 steps, checkpoint every step); copy it before changing it."""
    out = tmp_path_factory.mktemp("reliability") / "run"
    assert main(tiny_train_argv(quickstart_recipe, out)) == 0
    return out


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Callable[[str], Path]:
    """``copy(name)``: a private copy of the trained run."""

    def copy(name: str = "run") -> Path:
        target = tmp_path / name
        shutil.copytree(trained_run, target)
        return target

    return copy
