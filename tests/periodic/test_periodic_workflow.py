"""A periodic run end to end: DeepH folders with real gth-szv overlaps -> deeph_e3 training ->
``hamkit eval``, ``hamkit predict`` and ``hamkit deeph-predict`` (read back by the reader).

The labels are H(R) = 0.3 S(R) plus element on-site energies: not DFT, but Hermitian-paired
real-space stacks in a basis PySCF knows, so every command that needs PySCF's S(R) can run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hamkit.cli.main import main
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import graph_layout, structure_graph
from hamkit.data.pbc_overlap import real_space_overlap
from hamkit.data.structure import HamiltonianRecord

from .conftest import honeycomb
from tests.cli.extxyz_files import write_extxyz
from tests.periodic.tiny_runs import tiny_deeph_e3_overrides

SZV = OrbitalBasis.from_shells({5: [0, 1], 7: [0, 1]}, name="gth-szv")
ONSITE = {5: -0.2, 7: -0.5}
TINY = tiny_deeph_e3_overrides(steps=6)


def _record(seed: int) -> HamiltonianRecord:
    structure = honeycomb(seed, displacement=0.05)
    translations = graph_layout(structure_graph(structure, SZV, 6.0), SZV)[1]
    overlap = real_space_overlap(structure, SZV, "gth-szv", "gth-pbe", translations)
    hamiltonian = 0.3 * overlap
    home = int(np.nonzero(~translations.any(axis=1))[0][0])
    offsets = SZV.atom_orbital_offsets(structure.numbers)
    for atom, z in enumerate(structure.numbers.tolist()):
        hamiltonian[home, offsets[atom]:offsets[atom + 1], offsets[atom]:offsets[atom + 1]] += ONSITE[z] * np.eye(4)
    return HamiltonianRecord(structure, hamiltonian, overlap, key=f"bn{seed}", translations=translations,
                             extras={"fermi_level": 0.0})


@pytest.fixture(scope="module")
def bn_run(tmp_path_factory, request) -> Path:
    from hamkit.engine.run import run_training
    from hamkit.recipe import load_recipe
    from hamkit_plugins.deeph.writer import write_deeph_folder

    root = tmp_path_factory.mktemp("bn_workflow")
    for seed in range(4):
        write_deeph_folder(_record(seed), root / "data" / f"bn{seed}", SZV)
    recipe = load_recipe(request.config.rootpath / "recipes" / "tracegrad_deeph_e3.yaml",
                         [f"data.dataset={{name: deeph, path: {root / 'data'}}}", *TINY,
                          "model.invariant_encoder.num_scalars=8", "model.invariant_encoder.hidden=[8]",
                          "model.invariant_encoder.project_channels=2"])
    run_training(recipe, root / "run", show_progress=False)
    return root / "run"


def test_eval_scores_blocks_and_bands(bn_run, capsys):
    assert main(["eval", str(bn_run), "--split", "all", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("h_mae", "h_mae_diag", "h_mae_offdiag", "eps_occ_mae", "homo_mae", "lumo_mae", "gap_mae"):
        assert np.isfinite(report[key]) and report[key] > 0, key
    assert 0 < report["psi_cos"] <= 100.0 and report["structures"] == 4
    metrics = json.loads((bn_run / "test_metrics.json").read_text())["test"]
    assert np.isfinite(metrics["eps_occ_mae"]["mean"])


def test_predict_and_deeph_predict_agree_and_read_back(bn_run, tmp_path, capsys):
    from hamkit.components import BuildContext
    from hamkit.data.structure_files import read_structure_files
    from hamkit.engine.inference import predict_real_space
    from hamkit.engine.restore import load_trained_model
    from hamkit_plugins.deeph.dataset import DeepHConfig, DeepHDataset

    structure = honeycomb(11, displacement=0.05)
    xyz = write_extxyz(structure, tmp_path / "bn.extxyz")
    cell_flags = CELL_FLAGS
    assert main(["predict", str(bn_run), str(xyz), "--out", str(tmp_path / "bn.npz"), *cell_flags]) == 0
    assert main(["deeph-predict", str(bn_run), str(xyz), "--out", str(tmp_path / "folders"), *cell_flags]) == 0
    capsys.readouterr()

    [named] = read_structure_files([xyz], allow_periodic=True)  # the file rounds positions
    structure = named.structure
    translations, hamiltonian = predict_real_space(load_trained_model(bn_run), structure)
    arrays = np.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(arrays["R_0"], translations)
    np.testing.assert_array_equal(arrays["H_0"], hamiltonian)
    np.testing.assert_allclose(arrays["S_0"], real_space_overlap(structure, SZV, "gth-szv", "gth-pbe", translations))
    np.testing.assert_allclose(arrays["cell_0"], structure.cell)

    reader = DeepHDataset.from_config(DeepHConfig(path=str(tmp_path / "folders")), BuildContext())
    record = reader[0]
    lookup = record.translation_lookup()
    for r, translation in enumerate(translations.tolist()):
        if np.any(hamiltonian[r]) or np.any(arrays["S_0"][r]):
            np.testing.assert_allclose(record.hamiltonian[lookup[tuple(translation)]], hamiltonian[r],
                                       rtol=1e-12, atol=1e-15)
    assert record.structure.pbc == (True, True, False)


CELL_FLAGS = ["--basis", "gth-szv", "--pseudo", "gth-pbe"]


def test_deeph_predict_refuses_an_occupied_folder(bn_run, tmp_path, capsys):
    xyz = write_extxyz(honeycomb(12), tmp_path / "bn.extxyz")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x")
    assert main(["deeph-predict", str(bn_run), str(xyz), "--out", str(tmp_path / "busy")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
    (tmp_path / "busy" / "7").mkdir()  # an earlier prediction's folder: replaced
    assert main(["deeph-predict", str(bn_run), str(xyz), "--out", str(tmp_path / "busy"), "--overwrite",
                 *CELL_FLAGS]) == 0
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["0", "keep.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
