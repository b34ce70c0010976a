"""Generation inputs: water preset, SMILES lists, xyz files."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.data.sources import embed_smiles, preset_jobs, smiles_jobs, water_geometry, xyz_jobs
from hamkit.errors import HamkitError


def test_water_preset_is_reproducible_and_physical():
    a, b = water_geometry(0, 5), water_geometry(0, 5)
    assert np.array_equal(a.positions, b.positions)
    assert not np.allclose(water_geometry(1, 5).positions, a.positions)
    for index in range(20):
        water = water_geometry(0, index)
        oh = np.linalg.norm(water.positions[1:] - water.positions[0], axis=1)
        assert np.all((oh >= 0.8) & (oh <= 1.15))
        u, v = water.positions[1:] - water.positions[0]
        angle = np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
        assert 90 <= angle <= 120
    keys = [job.key for job in preset_jobs("water", 3, seed=0)]
    assert keys == ["water_000000", "water_000001", "water_000002"]


def test_unknown_preset_suggests():
    with pytest.raises(HamkitError, match="unknown preset 'watr'. Did you mean 'water'"):
        preset_jobs("watr", 1, seed=0)


def test_bad_smiles_line_is_named(tmp_path):
    path = tmp_path / "list.smi"
    path.write_text("# comment\nCCO ethanol\n\nC1CC(\nO\n")
    with pytest.raises(HamkitError, match=r"list\.smi:4: RDKit cannot parse SMILES 'C1CC\('"):
        smiles_jobs(path)
    with pytest.raises(HamkitError, match="no such file"):
        smiles_jobs(tmp_path / "missing.smi")


def test_smiles_jobs_and_embedding(tmp_path):
    path = tmp_path / "list.smi"
    path.write_text("CCO ethanol\nC[NH3+]\n")
    jobs = smiles_jobs(path, seed=3)
    assert [j.key for j in jobs] == ["mol_000000", "mol_000001"]
    assert jobs[0].elements == (1, 6, 8) and jobs[0].extras == {"smiles": "CCO", "line": 1,
                                                                 "name": "ethanol"}
    ethanol = embed_smiles("CCO", 3)
    assert ethanol.n_atoms == 9 and np.array_equal(embed_smiles("CCO", 3).positions, ethanol.positions)
    assert embed_smiles("C[NH3+]", 0).charge == 1


def test_xyz_frames(tmp_path):
    import ase
    import ase.io

    path = tmp_path / "mols.xyz"
    frames = [ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]),
              ase.Atoms("NH3", positions=[[0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])]
    frames[1].info["charge"] = 0
    ase.io.write(path, frames, format="extxyz")
    jobs = xyz_jobs(path)
    assert [j.key for j in jobs] == ["frame_000000", "frame_000001"]
    assert np.allclose(jobs[0].structure.positions, frames[0].positions)
    assert len(xyz_jobs(path, count=1)) == 1
    broken = tmp_path / "broken.xyz"
    broken.write_text("3\n\nO 0 0\n")
    with pytest.raises(HamkitError, match=r"broken\.xyz: cannot read as xyz"):
        xyz_jobs(broken)
