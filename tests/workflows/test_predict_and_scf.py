"""``hamkit predict`` and ``hamkit scf`` on structure files."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import scipy.linalg
import torch
from pyscf import gto

from hamkit.data.basis import OrbitalBasis
from hamkit.engine.evaluation import predicted_matrices
from hamkit.engine.prepare import build_context, make_graphs, prepare_data
from hamkit.engine.run import load_run_recipe
from hamkit.model import build_model
from hamkit.physics.orbital_order import matrix_to_canonical

from tests.workflows.xyz_files import write_xyz

WATERS = [
    (np.array([8, 1, 1]), np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])),
    (np.array([1, 8, 1]), np.array([[0.81, 0.58, 0.02], [0.1, 0.0, 0.0], [-0.72, 0.55, 0.11]])),
]


@pytest.fixture(scope="module")
def basis() -> OrbitalBasis:
    return OrbitalBasis.from_name("def2-svp", [1, 8])


def pyscf_overlap(numbers: np.ndarray, positions: np.ndarray) -> np.ndarray:
    atoms = [(int(z), tuple(xyz)) for z, xyz in zip(numbers, positions)]
    return gto.M(atom=atoms, unit="Angstrom", basis="def2-svp", verbose=0).intor("int1e_ovlp")


def test_predict_npz_in_every_order(run_dir, tmp_path, cli, basis):
    xyz = write_xyz(tmp_path / "two.xyz", WATERS)
    canonical = {}
    for order in ("canonical", "pyscf", "orca"):
        out = tmp_path / f"pred_{order}.npz"
        code, printed, _ = cli("predict", run_dir, xyz, "--out", out, "--order", order)
        assert code == 0 and "wrote 2 structures" in printed
        data = np.load(out)
        assert str(data["order"]) == order and str(data["basis"]) == "def2-svp"
        assert not list(tmp_path.glob(".*.tmp"))
        for k, (numbers, positions) in enumerate(WATERS):
            h, s = data[f"H_{k}"], data[f"S_{k}"]
            assert np.array_equal(data[f"Z_{k}"], numbers) and np.allclose(data[f"pos_{k}"], positions)
            assert h.shape == (24, 24) and np.array_equal(h, h.T)
            s_pyscf = pyscf_overlap(numbers, positions)
            if order == "pyscf":
                assert np.allclose(s, s_pyscf, atol=1e-13)
            h_canonical = matrix_to_canonical(h, numbers, basis, order)
            assert np.allclose(matrix_to_canonical(s, numbers, basis, order),
                               matrix_to_canonical(s_pyscf, numbers, basis, "pyscf"), atol=1e-13)
            assert np.allclose(data[f"orbital_energies_{k}"], scipy.linalg.eigh(h, s, eigvals_only=True),
                               atol=1e-8)
            if order == "canonical":
                canonical[k] = h
            else:
                assert np.array_equal(h_canonical, canonical[k])


def test_predict_h5(run_dir, tmp_path, cli):
    xyz = write_xyz(tmp_path / "two.xyz", WATERS)
    out = tmp_path / "sub" / "pred.h5"
    assert cli("predict", run_dir, xyz, "--out", out, "--order", "pyscf")[0] == 0
    with h5py.File(out) as handle:
        assert handle.attrs["order"] == "pyscf" and sorted(handle) == ["0", "1"]
        assert set(handle["1"]) == {"H", "S", "orbital_energies", "Z", "pos"}
        assert np.allclose(handle["1/S"][()], pyscf_overlap(*WATERS[1]), atol=1e-13)


def test_prediction_equals_the_training_path(run_dir, tmp_path, cli):
    """The same numbers as the evaluation after training: model built from the dataset."""
    recipe = load_run_recipe(run_dir)
    data = prepare_data(recipe)
    index = int(data.splits["test"][0])
    record = data.dataset[index]
    model = build_model(recipe, build_context(data.dataset, "float32"))
    model.load_state_dict(torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"])
    graphs = make_graphs(data.dataset, [index], None, "test")
    [(expected, *_)] = predicted_matrices(model, data.dataset, [index], graphs, torch.float32,
                                          torch.device("cpu"), 1)
    xyz = write_xyz(tmp_path / "record.xyz", [(record.structure.numbers, record.structure.positions)])
    out = tmp_path / "record.npz"
    assert cli("predict", run_dir / "checkpoints" / "last.pt", xyz, "--out", out)[0] == 0
    assert np.array_equal(np.load(out)["H_0"], expected)


def test_scf_prints_cycles_for_water(run_dir, tmp_path, cli):
    xyz = write_xyz(tmp_path / "water.xyz", WATERS[:1])
    code, out, err = cli("scf", run_dir, xyz, "--xc", "hf")
    assert code == 0, err
    assert "cycles (minao)" in out and "mean" in out and "ratio" in out
    code, out, _ = cli("scf", run_dir, xyz, "--xc", "hf", "--json")
    result = json.loads(out)
    [row] = result["structures"]
    assert row["cycles_predicted"] > 0 and row["cycles_minao"] > 0
    assert row["ratio"] == pytest.approx(row["cycles_predicted"] / row["cycles_minao"])
    assert result["mean"]["ratio"] == pytest.approx(row["ratio"])


def test_bad_structures_exit_2_without_traceback(run_dir, tmp_path, cli):
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("this is\nnot a structure file\n")
    methane = write_xyz(tmp_path / "methane.xyz", [(np.array([6, 1, 1, 1, 1]), np.array(
        [[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]]))])
    periodic = tmp_path / "periodic.extxyz"
    periodic.write_text('3\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\n'
                        "O 0 0 0\nH 0.76 0.59 0\nH -0.76 0.59 0\n")
    water = write_xyz(tmp_path / "water.xyz", WATERS[:1])
    out = tmp_path / "out.npz"
    cases = [
        (("predict", run_dir, garbage, "--out", out), "ASE cannot read"),
        (("predict", run_dir, tmp_path / "missing.xyz", "--out", out), "no such structure file"),
        (("predict", run_dir, methane, "--out", out), "C (Z=6)"),
        (("predict", run_dir, periodic, "--out", out), "does not support periodic structures"),
        (("predict", run_dir, water, "--out", tmp_path / "out.txt"), ".npz or .h5"),
        (("predict", tmp_path, water, "--out", out), "not a hamkit run directory"),
        (("scf", run_dir, water, "--basis", "sto-3g"), "not the model's basis"),
        (("scf", run_dir, water, "--charge", "1"), "closed-shell"),
        (("scf", run_dir, methane), "not in the model's basis"),
    ]
    for argv, message in cases:
        code, printed, err = cli(*argv)
        assert code == 2, argv
        assert message in err and "Traceback" not in printed + err, (argv, err)
    assert not out.exists()


def test_scf_on_a_split_of_the_runs_data(run_dir, cli):
    from hamkit.engine.restore import load_trained_model

    data = prepare_data(load_trained_model(run_dir).recipe)
    train_keys = [data.dataset[int(i)].key for i in data.splits["train"]][:3]
    code, out, err = cli("scf", run_dir, "--split", "train", "--limit", "3", "--xc", "hf", "--json")
    assert code == 0, err
    result = json.loads(out)
    names = [row["name"] for row in result["structures"]]
    assert [name.rsplit("record ", 1)[1] for name in names] == [str(key) for key in train_keys]
    ratios = np.array([row["ratio"] for row in result["structures"]])
    assert result["mean"]["ratio"] == pytest.approx(ratios.mean())
    assert result["mean"]["ratio_std"] == pytest.approx(ratios.std(ddof=1))
    assert result["mean"]["ratio_median"] == pytest.approx(np.median(ratios))


def test_scf_needs_exactly_one_source_of_molecules(run_dir, tmp_path, cli):
    water = write_xyz(tmp_path / "water.xyz", WATERS[:1])
    for argv in (("scf", run_dir), ("scf", run_dir, water, "--split", "test"),
                 ("scf", run_dir, "--split", "test", "--charge", "0")):
        code, printed, err = cli(*argv)
        assert code == 2, argv
        assert ("--split" in err) and "Traceback" not in printed + err, (argv, err)
