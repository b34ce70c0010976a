"""The run-directory layout and the model_info.json schema, owned by hamkit.engine.run_layout."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import hamkit

from hamkit.data.basis import OrbitalBasis
from hamkit.engine.run_layout import ModelInfo, RunLayout
from hamkit.errors import HamkitError

BASIS = OrbitalBasis.from_shells({1: [0, 0, 1], 8: [0, 0, 0, 1, 1, 2]}, "def2-svp")
INFO = ModelInfo(basis=BASIS, species=(1, 8), dtype="float64", pair_cutoff=4.0, largest_training_atoms=3)

RUN_FILE_NAMES = ("recipe.yaml", "environment.json", "data.json", "model_info.json", "last.pt", "best.pt",
                  "metrics.jsonl", "train.csv", "val.csv", "test_metrics.json", "orbital_energies.png")
"""File names of a run directory that only the layout module may spell. (``plots`` and
``learning_curves.png`` are left out: an ablation's own output folder has them too.)"""
RUN_FOLDER_NAMES = (".lock", "checkpoints", "tensorboard")
"""Names checked as whole string literals (as parts of prose they are ordinary words)."""
NAME_PATTERN = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, RUN_FILE_NAMES)) + r")(?!\w)")
HAMKIT = Path(hamkit.__file__).parent
LAYOUT_MODULE = HAMKIT / "engine" / "run_layout.py"


def test_layout_names_the_files_users_see(tmp_path):
    layout = RunLayout(tmp_path)
    assert {name: path.relative_to(tmp_path).as_posix() for name, path in {
        "recipe": layout.recipe, "environment": layout.environment, "data": layout.data,
        "model_info": layout.model_info, "checkpoints": layout.checkpoints, "last": layout.last_checkpoint,
        "best": layout.best_checkpoint, "lock": layout.lock, "metrics": layout.metrics,
        "train": layout.csv_log("train"), "val": layout.csv_log("val"), "tensorboard": layout.tensorboard,
        "test": layout.test_metrics, "plots": layout.plots, "curves": layout.learning_curves_plot,
        "levels": layout.orbital_energies_plot}.items()} == {
        "recipe": "recipe.yaml", "environment": "environment.json", "data": "data.json",
        "model_info": "model_info.json", "checkpoints": "checkpoints", "last": "checkpoints/last.pt",
        "best": "checkpoints/best.pt", "lock": ".lock", "metrics": "metrics.jsonl", "train": "train.csv",
        "val": "val.csv", "tensorboard": "tensorboard", "test": "test_metrics.json", "plots": "plots",
        "curves": "plots/learning_curves.png", "levels": "plots/orbital_energies.png"}
    assert layout.checkpoint_preference == (layout.best_checkpoint, layout.last_checkpoint)
    assert [path.name for path in layout.log_files] == ["metrics.jsonl", "train.csv", "val.csv"]
    assert RunLayout(str(tmp_path)).root == tmp_path
    with pytest.raises(ValueError, match="'test'"):
        layout.csv_log("test")


def test_is_run_directory_means_a_recipe(tmp_path):
    layout = RunLayout(tmp_path)
    assert not layout.is_run_directory
    (tmp_path / "recipe.yaml").write_text("{}")
    assert layout.is_run_directory


def test_model_info_round_trip(tmp_path):
    path = RunLayout(tmp_path).model_info
    INFO.write(path)
    on_disk = json.loads(path.read_text())
    assert list(on_disk) == ["basis", "species", "dtype", "pair_cutoff", "largest_training_atoms"]
    assert on_disk["species"] == [1, 8] and on_disk["pair_cutoff"] == 4.0
    assert ModelInfo.read(path) == INFO
    fully_connected = ModelInfo(basis=BASIS, species=(8,), dtype="float32")
    assert ModelInfo.from_json(json.loads(json.dumps(fully_connected.to_json()))) == fully_connected


def test_an_old_model_info_reads_with_defaults(tmp_path):
    """Runs written before pair_cutoff / largest_training_atoms were recorded still load."""
    path = tmp_path / "model_info.json"
    path.write_text(json.dumps({"basis": BASIS.to_dict(), "species": [1, 8], "dtype": "float32"}))
    info = ModelInfo.read(path)
    assert info.basis == BASIS and info.species == (1, 8) and info.dtype == "float32"
    assert info.pair_cutoff is None and info.largest_training_atoms is None


@pytest.mark.parametrize("key", ["basis", "species", "dtype"])
def test_a_missing_key_is_named_with_the_file(tmp_path, key):
    path = tmp_path / "model_info.json"
    data = INFO.to_json()
    del data[key]
    path.write_text(json.dumps(data))
    with pytest.raises(HamkitError, match=rf"^{re.escape(str(path))}: model info lacks '{key}'"):
        ModelInfo.read(path)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "unreadable model info"),
    ("[1, 2]", "model info is not a JSON object but list"),
    (json.dumps({**INFO.to_json(), "dtype": "float16"}), "dtype 'float16' is not float32 or float64"),
    (json.dumps({**INFO.to_json(), "species": ["x"]}), "unreadable model info"),
    (json.dumps({**INFO.to_json(), "basis": {"name": "x"}}), "unreadable model info"),
    (json.dumps({**INFO.to_json(), "pair_cutoff": "far"}), "pair_cutoff must be a positive number or null"),
    (json.dumps({**INFO.to_json(), "largest_training_atoms": 0}),
     "largest_training_atoms must be a positive integer"),
])
def test_a_damaged_model_info_is_named(tmp_path, text, message):
    path = tmp_path / "model_info.json"
    path.write_text(text)
    with pytest.raises(HamkitError, match=rf"^{re.escape(str(path))}: {re.escape(message)}"):
        ModelInfo.read(path)


def test_a_missing_model_info_is_named(tmp_path):
    path = RunLayout(tmp_path).model_info
    with pytest.raises(HamkitError, match=rf"^{re.escape(str(path))}: no such file"):
        ModelInfo.read(path)


def run_file_literals(source: str) -> list[str]:
    """String literals (f-string parts included, docstrings excluded) that spell a run file name."""
    tree = ast.parse(source)
    documentation = {id(node.value) for node in ast.walk(tree)
                     if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documentation
                and (NAME_PATTERN.search(node.value) or node.value in RUN_FOLDER_NAMES)):
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_the_literal_check_finds_what_it_should():
    """Negative control: the check below would see a literal, in an f-string too."""
    assert run_file_literals('path = run_dir / "model_info.json"')
    assert run_file_literals('x = f"{run} has no checkpoints/best.pt"')
    assert run_file_literals('lock = run / ".lock"')
    assert not run_file_literals('"""Docstrings may mention ``recipe.yaml``."""\nx = "bands.json"')
    assert not run_file_literals('x = "the last.pth file and some checkpoints here"')


def test_only_the_layout_module_spells_run_file_names():
    offenders = {}
    for path in sorted(HAMKIT.rglob("*.py")):
        if path == LAYOUT_MODULE:
            continue
        found = run_file_literals(path.read_text())
        if found:
            offenders[str(path.relative_to(HAMKIT.parent))] = found
    assert not offenders, f"use hamkit.engine.run_layout instead of literal run-directory names: {offenders}"
    assert run_file_literals(LAYOUT_MODULE.read_text())  # the names do live there
