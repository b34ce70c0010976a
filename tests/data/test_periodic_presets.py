"""Periodic presets (graphene, hBN, MoS2): geometries, and ``hamkit data generate`` on them."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.data.generate import generate
from hamkit.data.pbc_labels import PeriodicLabelSettings
from hamkit.data.periodic_sources import (
    DISPLACEMENT_SIGMA,
    MATERIALS,
    STRAIN_SIGMA,
    VACUUM_ANGSTROM,
    hexagonal_cell,
    material_geometry,
)
from hamkit.data.pyscf_labels import LabelSettings
from hamkit.data.sources import PRESETS, geometry_id, preset_jobs
from hamkit.data.store import StoreReader
from hamkit.errors import HamkitError

FAST_CLI = ("--kmesh", "2,2,1", "--ke-cutoff", "60", "--conv-tol", "1e-7", "--no-progress")


@pytest.mark.parametrize("name", ["graphene", "hbn", "mos2"])
def test_geometries_are_reproducible_distorted_layers_with_vacuum(name):
    material = MATERIALS[name]
    first, again, other = (material_geometry(name, 3, 0), material_geometry(name, 3, 0),
                           material_geometry(name, 3, 1))
    assert np.array_equal(first.positions, again.positions) and np.array_equal(first.cell, again.cell)
    assert not np.allclose(first.positions, other.positions)
    assert first.pbc == (True, True, False) and list(first.numbers) == list(material.numbers)
    ideal = hexagonal_cell(material.lattice, material.thickness + VACUUM_ANGSTROM)
    strain = np.linalg.solve(ideal[:2, :2], first.cell[:2, :2]) - np.eye(2)  # a_i' = (1 + e) a_i
    assert 0 < np.abs(strain).max() <= 3 * STRAIN_SIGMA + 1e-12
    assert np.array_equal(first.cell[2], ideal[2]) and np.allclose(first.cell[:2, 2], 0.0)
    fractional = np.array(material.fractional)
    ideal_positions = fractional[:, :1] * first.cell[0] + fractional[:, 1:] * first.cell[1]
    ideal_positions[:, 2] = 0.5 * first.cell[2, 2] + np.array(material.heights)
    displacement = first.positions - ideal_positions
    assert 0 < np.abs(displacement).max() <= 3 * DISPLACEMENT_SIGMA + 1e-12
    heights = first.positions[:, 2]
    vacuum = first.cell[2, 2] - (heights.max() - heights.min())
    assert vacuum > VACUUM_ANGSTROM - 6 * DISPLACEMENT_SIGMA


def test_preset_jobs_have_distinct_fingerprints_that_include_the_cell():
    assert {"graphene", "hbn", "mos2", "water"} <= set(PRESETS)
    jobs = preset_jobs("hbn", 3, seed=0)
    assert [job.key for job in jobs] == ["hbn_000000", "hbn_000001", "hbn_000002"]
    assert jobs[0].elements == (5, 7) and jobs[0].structure.is_periodic
    assert len({job.source_id for job in jobs}) == 3
    structure = jobs[0].structure
    stretched = type(structure)(structure.numbers, structure.positions, cell=structure.cell * 1.01,
                                pbc=structure.pbc)
    assert geometry_id(stretched) != geometry_id(structure)
    assert preset_jobs("mos2", 1, 0)[0].elements == (16, 42)


def test_molecules_and_periodic_structures_need_their_own_settings(tmp_path):
    with pytest.raises(HamkitError, match="graphene_000000 is a periodic structure"):
        generate(preset_jobs("graphene", 1, 0), tmp_path / "a.h5", LabelSettings(), progress=False)
    with pytest.raises(HamkitError, match="water_000000 is a molecule"):
        generate(preset_jobs("water", 1, 0), tmp_path / "a.h5", PeriodicLabelSettings(), progress=False)
    assert not (tmp_path / "a.h5").exists()


def test_mos2_needs_the_molopt_basis():
    with pytest.raises(HamkitError, match="no basis 'gth-szv' for element Mo"):
        PeriodicLabelSettings(basis="gth-szv").check([16, 42])
    basis = PeriodicLabelSettings(basis=MATERIALS["mos2"].basis).check([16, 42])
    assert basis.shell_ls(42) == (0, 0, 1, 2) and basis.shell_ls(16) == (0, 1)


def test_cli_generates_a_periodic_store_and_resumes(run_data, tmp_path):
    out = tmp_path / "g.h5"
    status, text = run_data("generate", "--preset", "graphene", "--count", "1", "--out", str(out),
                            *FAST_CLI)
    assert status == 0 and "computed 1, already stored 0, failed 0" in text
    store = StoreReader(out)
    record = store[0]
    assert record.is_periodic and record.structure.pbc == (True, True, False)
    assert record.hamiltonian.shape == (len(record.translations), 8, 8)
    assert record.extras["n_electrons"] == 8 and record.extras["preset"] == "graphene"
    assert -1.0 < record.extras["fermi_level"] < 1.0
    provenance = store.header.provenance
    assert provenance["method"] == "KRKS" and provenance["kmesh"] == [2, 2, 1]
    assert provenance["pseudo"] == "gth-pbe" and provenance["basis"] == "gth-szv"
    assert "--kmesh 2,2,1 --pseudo gth-pbe --max-distance 10.0 --ke-cutoff 60.0" in provenance["command_line"]
    store.close()
    status, text = run_data("generate", "--preset", "graphene", "--count", "1", "--out", str(out),
                            *FAST_CLI)
    assert "computed 0, already stored 1" in text
    with pytest.raises(HamkitError, match=r"kmesh: stored \[2, 2, 1\], requested \[3, 3, 1\]"):
        run_data("generate", "--preset", "graphene", "--count", "1", "--out", str(out),
                 "--kmesh", "3,3,1", "--ke-cutoff", "60", "--conv-tol", "1e-7", "--no-progress")
    status, text = run_data("info", str(out))
    assert "periodic     1 of 1 structures, pbc TTF" in text and "kmesh" in text


def test_periodic_options_are_checked(run_data, tmp_path):
    out = str(tmp_path / "o.h5")
    with pytest.raises(HamkitError, match="--kmesh, --pseudo only apply to periodic structures"):
        run_data("generate", "--preset", "water", "--out", out, "--kmesh", "2,2,1", "--pseudo", "gth-pbe")
    with pytest.raises(HamkitError, match="--kmesh '2,2': expected three positive integers"):
        run_data("generate", "--preset", "graphene", "--out", out, "--kmesh", "2,2")
    with pytest.raises(HamkitError, match="--grid-level applies to molecules only"):
        run_data("generate", "--preset", "hbn", "--out", out, "--grid-level", "3")
    with pytest.raises(HamkitError, match="samples axis a3, which is not periodic|not periodic"):
        run_data("generate", "--preset", "hbn", "--out", out, "--kmesh", "2,2,2", "--no-progress")
    with pytest.raises(HamkitError, match="unknown preset 'grafene'. Did you mean 'graphene'"):
        run_data("generate", "--preset", "grafene", "--out", out)


@pytest.mark.slow
def test_mos2_labels_converge(tmp_path):
    settings = PeriodicLabelSettings(basis="gth-szv-molopt-sr", kmesh=(3, 3, 1), ke_cutoff=120.0)
    report = generate(preset_jobs("mos2", 1, 0), tmp_path / "m.h5", settings, progress=False)
    assert report.computed == ["mos2_000000"]
    record = StoreReader(tmp_path / "m.h5")[0]
    assert record.extras["n_electrons"] == 26 and record.hamiltonian.shape[1] == 18


def test_embedded_materials_2d_is_consistent_with_pyscf():
    from hamkit.data.pbc_cell import overlap_kpoints
    from hamkit.engine.prepare import open_dataset_file
    from hamkit.physics.bloch import bloch_matrices, monkhorst_pack

    dataset = open_dataset_file("embedded:materials_2d")
    assert len(dataset) == 54 and [r.key for r in dataset[28:32]] == [
        "graphene_000028", "graphene_000029", "hbn_000000", "hbn_000001"]
    provenance = dataset.provenance
    assert provenance["kmesh"] == [6, 6, 1] and provenance["pseudo"] == "gth-pbe"
    for index in (0, 29, 30, 53):
        record = dataset[index]
        assert record.is_periodic and record.structure.pbc == (True, True, False)
        lookup = record.translation_lookup()
        for r, row in enumerate(record.translations.tolist()):
            assert np.array_equal(record.hamiltonian[lookup[tuple(-v for v in row)]], record.hamiltonian[r].T)
        assert record.extras["n_electrons"] == 8
        assert generate_preset_geometry_matches(record)
        mesh = monkhorst_pack((6, 6, 1))[::5]  # on the SCF mesh the stored S(R) is exact
        exact = overlap_kpoints(record.structure, dataset.basis, "gth-szv", "gth-pbe", mesh)
        stored = bloch_matrices(record.translations, record.overlap, mesh)
        assert np.abs(stored - exact).max() < 1e-9


def generate_preset_geometry_matches(record) -> bool:
    """The stored structure is the preset geometry its key names (seed 0)."""
    name, index = record.key.rsplit("_", 1)
    expected = material_geometry(name, 0, int(index))
    return (np.array_equal(expected.positions, record.structure.positions)
            and np.array_equal(expected.cell, record.structure.cell))


def test_extxyz_frames_with_a_lattice_are_labelled_as_crystals(run_data, tmp_path):
    """A graphene cell of the preset written to extxyz is labelled as a crystal."""
    import ase
    import ase.io

    [job] = preset_jobs("graphene", 1, 0)
    structure = job.structure
    path = tmp_path / "graphene.extxyz"
    ase.io.write(path, ase.Atoms(numbers=structure.numbers, positions=structure.positions,
                                 cell=structure.cell, pbc=list(structure.pbc)))
    out = tmp_path / "from_file.h5"
    status, text = run_data("generate", "--xyz", str(path), "--out", str(out), *FAST_CLI)
    assert status == 0 and "computed 1" in text
    with StoreReader(out) as store:
        record = store[0]
        assert record.is_periodic and record.structure.pbc == (True, True, False)
        np.testing.assert_allclose(record.structure.cell, structure.cell, atol=1e-8)
        assert store.header.provenance["basis"] == "gth-szv" and record.extras["n_electrons"] == 8
    mixed = tmp_path / "mixed.extxyz"
    ase.io.write(mixed, [ase.io.read(path), ase.Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])])
    with pytest.raises(HamkitError, match="is a molecule"):
        run_data("generate", "--xyz", str(mixed), "--out", str(tmp_path / "mixed.h5"), *FAST_CLI)
