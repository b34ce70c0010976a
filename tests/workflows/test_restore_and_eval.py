"""Restoring a trained model from its run directory, and ``hamkit eval``."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreWriter
from hamkit.engine import prepare
from hamkit.engine.checkpoint import save_atomically
from hamkit.engine.inference import check_data_basis, evaluate_records
from hamkit.engine.restore import load_trained_model
from hamkit.errors import HamkitError
from hamkit_plugins.datasets.hamkit_store import open_dataset

EVAL_KEYS = {"h_mae", "h_mae_diag", "h_mae_offdiag", "eps_occ_mae", "homo_mae", "lumo_mae", "gap_mae", "psi_cos"}


def test_restores_without_opening_the_dataset(run_dir, monkeypatch):
    def refuse(*_):
        raise AssertionError("the training dataset was opened")

    monkeypatch.setattr(prepare, "open_dataset", refuse)
    trained = load_trained_model(run_dir)
    assert trained.checkpoint == run_dir / "checkpoints" / "best.pt"
    assert not trained.model.training and trained.weights == "model"
    assert trained.basis.name == "def2-svp" and trained.species == (1, 8)
    assert trained.dtype == torch.float32
    state = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["model"]
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    last = load_trained_model(run_dir / "checkpoints" / "last.pt")
    assert last.checkpoint.name == "last.pt" and last.run_dir == run_dir


def test_ema_weights_are_preferred(run_dir, tmp_path):
    copy = tmp_path / "run"
    (copy / "checkpoints").mkdir(parents=True)
    for name in ("recipe.yaml", "model_info.json"):
        shutil.copy(run_dir / name, copy / name)
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    state["ema"] = {f"module.{key}": value + 1 if value.is_floating_point() else value
                    for key, value in state["model"].items()}
    state["ema"]["n_averaged"] = torch.tensor(3)
    save_atomically(state, copy / "checkpoints" / "last.pt")  # re-hashed: the edit is deliberate
    trained = load_trained_model(copy)
    assert trained.weights == "ema" and trained.checkpoint.name == "last.pt"
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value, state["ema"][f"module.{key}"]), key


def test_eval_json_equals_the_runs_test_metrics(run_dir, cli):
    # test_metrics.json scores the model as training ended, i.e. last.pt
    code, out, _ = cli("eval", run_dir / "checkpoints" / "last.pt", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == EVAL_KEYS | {"structures"}
    expected = json.loads((run_dir / "test_metrics.json").read_text())["test"]
    assert result["structures"] == len(expected["h_mae"]["per_structure"])
    for key in EVAL_KEYS:
        assert result[key] == pytest.approx(expected[key]["mean"], rel=1e-12, abs=1e-9), key


def test_eval_table_and_other_data(run_dir, tmp_path, cli):
    code, out, _ = cli("eval", run_dir, "--split", "all")
    assert code == 0 and "h_mae" in out and "psi_cos" in out and "10 structures" in out
    water = open_dataset("embedded:water")
    small = tmp_path / "small.h5"
    with StoreWriter(small, water.header) as writer:
        for position in (20, 21, 22):
            record = water[position]
            writer.write(replace(record, overlap=None) if position == 21 else record)
    code, out, _ = cli("eval", run_dir, "--data", small, "--from", "hamkit", "--json")
    assert code == 0
    result = json.loads(out)
    expected = evaluate_records(load_trained_model(run_dir), water, [20, 21, 22])
    assert result["structures"] == 3
    for key in EVAL_KEYS:  # the missing overlap is recomputed with PySCF
        assert result[key] == pytest.approx(expected[key]["mean"], rel=1e-8), key


def test_eval_refuses_data_in_another_basis(run_dir, cli):
    code, out, err = cli("eval", run_dir, "--data", "embedded:qm9_mini")
    assert code == 2 and "lacks" in err and "Traceback" not in err + out
    code, _, err = cli("eval", run_dir, "--data", "embedded:water", "--split", "test")
    assert code == 2 and "--split" in err
    code, _, err = cli("eval", run_dir, "--data", "embedded:water", "--from", "no_such_format")
    assert code == 2 and "no_such_format" in err


def test_basis_check_names_the_difference():
    model = OrbitalBasis.from_shells({1: [0, 0, 1], 8: [0, 0, 0, 1, 1, 2]}, "def2-svp")
    check_data_basis(model, OrbitalBasis.from_shells({1: [0, 0, 1]}, "def2-SVP"), "data")
    with pytest.raises(HamkitError, match="basis 'sto-3g'"):
        check_data_basis(model, OrbitalBasis.from_shells({1: [0]}, "sto-3g"), "data")
    with pytest.raises(HamkitError, match="shells"):
        check_data_basis(model, OrbitalBasis.from_shells({1: [0, 1]}, ""), "data")
    with pytest.raises(HamkitError, match=r"Z=\[6\]"):
        check_data_basis(model, OrbitalBasis.from_shells({6: [0]}, "def2-svp"), "data")


def test_bad_model_paths_exit_2_without_traceback(run_dir, tmp_path, cli):
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "broken"
    (broken / "checkpoints").mkdir(parents=True)
    for name in ("recipe.yaml", "model_info.json"):
        shutil.copy(run_dir / name, broken / name)
    (broken / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    no_checkpoint = tmp_path / "no_checkpoint"
    no_checkpoint.mkdir()
    shutil.copy(run_dir / "recipe.yaml", no_checkpoint / "recipe.yaml")
    cases = {
        tmp_path / "empty": "not a hamkit run directory",
        tmp_path / "missing": "no such run directory",
        broken: "cannot read the checkpoint",
        no_checkpoint: "no checkpoint",
    }
    for path, message in cases.items():
        code, out, err = cli("eval", path, "--json")
        assert code == 2, path
        assert message in err and "Traceback" not in err + out, err
