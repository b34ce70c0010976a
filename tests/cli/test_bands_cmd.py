"""``hamkit bands`` with a fake trained model and a fake periodic predictor (command logic).

The fake predictor returns the reference H(R) plus ``SHIFT_EV * S(R)``: H(k) + d S(k) has
exactly the reference bands shifted by d, so the command must report d as the band error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg

from hamkit.band_structure import compute as band_compute
from hamkit.band_structure import targets as band_targets
from hamkit.cli import bands_cmd
from hamkit.cli.main import main
from hamkit.data.basis import OrbitalBasis
from hamkit.data.pbc_cell import overlap_kpoints
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.engine.prepare import PreparedData
from hamkit.physics.bands import EV_PER_HARTREE, fermi_level_from_electrons, solve_bands
from hamkit.physics.bloch import monkhorst_pack
from hamkit.testing.tight_binding import graphene, nearest_neighbour_record

from tests.cli.extxyz_files import write_extxyz

ONSITE_EV, HOPPING_EV, OVERLAP = 0.4, -2.7, 0.1
SHIFT_EV = 0.025
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _graphene_record() -> HamiltonianRecord:
    return nearest_neighbour_record(graphene(), ONSITE_EV, HOPPING_EV, OVERLAP)


def _fake_trained(run_dir: Path, basis: OrbitalBasis) -> SimpleNamespace:
    run_dir.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(recipe=None, basis=basis, run_dir=run_dir, checkpoint=run_dir / "best.pt", step=7,
                           weights="ema", check_elements=lambda numbers, where: None)


@pytest.fixture
def fake_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake run whose test split is [a molecule-free graphene record]; returns (run_dir, records)."""
    record = _graphene_record()
    records = [record, record]
    trained = _fake_trained(tmp_path / "run", OrbitalBasis.from_shells({6: [0]}, name="tb"))
    monkeypatch.setattr(bands_cmd, "load_model", lambda args: trained)
    monkeypatch.setattr(band_targets, "prepare_data", lambda recipe: PreparedData(
        records, {"train": np.array([0]), "val": np.array([], dtype=int), "test": np.array([1])}))

    def predict(trained_model, structure: Structure, where: str) -> tuple[np.ndarray, np.ndarray]:
        assert structure is records[1].structure
        return record.translations, record.hamiltonian + SHIFT_EV / EV_PER_HARTREE * record.overlap

    monkeypatch.setattr(band_compute, "predict_real_space", predict)
    return trained.run_dir, records


def _run(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(["bands", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "staging folder left behind"


def test_default_structure_reports_the_shift_as_band_error(fake_run, tmp_path, capsys) -> None:
    run_dir, _ = fake_run
    out = tmp_path / "bands_out"
    code, stdout, stderr = _run([str(run_dir), "--out", str(out), "--path", "G-M-K-G", "--npoints", "90",
                                 "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["errors"]["window"]["mae_mev"] == pytest.approx(SHIFT_EV * 1000, abs=1e-7)
    assert report["errors"]["window"]["max_mev"] == pytest.approx(SHIFT_EV * 1000, abs=1e-7)
    assert report["errors"]["plotted"]["window_ev"] == 3.0
    assert report["errors"]["plotted"]["values"] >= report["errors"]["window"]["values"] > 0
    # 2 electrons fill the lower band: E_F at the Dirac point (K is on the 12x12 mesh and the path).
    assert report["fermi_level_ev"] == pytest.approx(ONSITE_EV, abs=1e-9)
    assert report["kpoints"] == 90 and report["bands"] == 2
    assert report["labels"] == ["Γ", "M", "K", "Γ"]

    data = json.loads((out / "bands.json").read_text())
    reference = np.array(data["reference_ev"])
    np.testing.assert_allclose(np.array(data["predicted_ev"]) - reference, SHIFT_EV, atol=1e-12)
    assert reference.shape == (90, 2) and len(data["x"]) == 90 and len(data["special_x"]) == 4
    assert (out / "bands.png").read_bytes().startswith(PNG_MAGIC)
    _no_leftovers(tmp_path)


def test_table_output(fake_run, tmp_path, capsys) -> None:
    run_dir, _ = fake_run
    code, stdout, stderr = _run([str(run_dir), "--out", str(tmp_path / "o"), "--window", "1.5"], capsys)
    assert code == 0, stderr
    assert "E_F ± 1.5 eV" in stdout and "E_F ± 3 eV" in stdout
    assert "25.0" in stdout and "2 bands" in stdout and "120 k-points" in stdout


def test_existing_output_folder_keeps_other_files(fake_run, tmp_path, capsys) -> None:
    run_dir, _ = fake_run
    out = tmp_path / "existing"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "bands.json").write_text("old")
    code, _, stderr = _run([str(run_dir), "--out", str(out), "--json"], capsys)
    assert code == 2 and "already exists" in stderr and "--overwrite" in stderr
    assert (out / "bands.json").read_text() == "old"
    code, _, stderr = _run([str(run_dir), "--out", str(out), "--json", "--overwrite"], capsys)
    assert code == 0, stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "bands.json").read_text())["path"] == "GMKG"
    _no_leftovers(tmp_path)


def test_the_records_fermi_level_is_used(fake_run, tmp_path, monkeypatch, capsys) -> None:
    run_dir, records = fake_run
    records[1] = replace(records[1], extras={"fermi_level": -1.0 / EV_PER_HARTREE})
    code, stdout, stderr = _run([str(run_dir), "--out", str(tmp_path / "o"), "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["fermi_level_ev"] == pytest.approx(-1.0)
    assert report["fermi_level_source"] == "the record's fermi_level"
    assert report["errors"]["window"]["mae_mev"] == pytest.approx(SHIFT_EV * 1000, abs=1e-7)


def _assert_refused(args: list[str], out: Path, capsys: pytest.CaptureFixture, *fragments: str) -> None:
    """Exit status 2, every fragment in the message, no traceback, no output folder."""
    code, _, stderr = _run([*args, "--out", str(out)], capsys)
    assert code == 2 and "Traceback" not in stderr
    assert all(fragment in stderr for fragment in fragments), stderr
    assert not out.exists()


def test_molecule_run_is_refused(fake_run, tmp_path, monkeypatch, capsys) -> None:
    run_dir, _ = fake_run
    molecule = HamiltonianRecord(Structure([1, 1], [[0, 0, 0], [0, 0, 0.74]]), np.eye(2), np.eye(2), key="h2")
    monkeypatch.setattr(band_targets, "prepare_data", lambda recipe: PreparedData(
        [molecule], {"train": np.array([], dtype=int), "val": np.array([], dtype=int), "test": np.array([0])}))
    _assert_refused([str(run_dir)], tmp_path / "o", capsys, "hamkit bands needs a periodic structure",
                    "'h2' is a molecule")


def test_non_periodic_structure_file_is_refused(fake_run, tmp_path, capsys) -> None:
    run_dir, _ = fake_run
    xyz = tmp_path / "h2.xyz"
    xyz.write_text("2\n\nH 0 0 0\nH 0 0 0.74\n")
    _assert_refused([str(run_dir), str(xyz)], tmp_path / "o", capsys, "hamkit bands needs a periodic structure",
                    "no periodic cell")


def test_unknown_special_point(fake_run, tmp_path, capsys) -> None:
    run_dir, _ = fake_run
    _assert_refused([str(run_dir), "--path", "G-X-K"], tmp_path / "o", capsys, "unknown special point 'X'",
                    "K, M")


def test_failure_while_writing_leaves_no_output(fake_run, tmp_path, monkeypatch, capsys) -> None:
    run_dir, _ = fake_run

    def broken_plot(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bands_cmd, "plot_bands", broken_plot)
    out = tmp_path / "o"
    with pytest.raises(RuntimeError, match="disk full"):
        main(["bands", str(run_dir), "--out", str(out)])
    assert not out.exists()
    _no_leftovers(tmp_path)


# ---------------------------------------------------------------------------- structure files
GTH_SZV_CARBON = OrbitalBasis.from_shells({6: [0, 1]}, name="gth-szv")
"""PySCF's gth-szv on carbon: one s and one p shell."""
ONSITE_GTH = np.diag(np.tile([-0.5, -0.2, -0.2, -0.2], 2))
"""Predicted H(R = 0) of the structure-file tests (Hartree); no hopping."""


@pytest.fixture
def structure_file_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake gth-szv run, a graphene extxyz file (pbc T T F) and an on-site-only predictor."""
    trained = _fake_trained(tmp_path / "run", GTH_SZV_CARBON)
    monkeypatch.setattr(bands_cmd, "load_model", lambda args: trained)

    def predict(trained_model, structure: Structure, where: str) -> tuple[np.ndarray, np.ndarray]:
        assert structure.pbc == (True, True, False)
        return np.zeros((1, 3), dtype=np.int64), ONSITE_GTH[None]

    monkeypatch.setattr(band_compute, "predict_real_space", predict)
    return trained.run_dir, write_extxyz(graphene(vacuum=12.0), tmp_path / "graphene.extxyz")


def _provenance(run_dir: Path, provenance: dict) -> None:
    (run_dir / "data.json").write_text(json.dumps({"provenance": provenance, "splits": {}}))


def test_structure_file_uses_pyscf_overlap_and_provenance(structure_file_run, tmp_path, capsys) -> None:
    run_dir, path = structure_file_run
    _provenance(run_dir, {"basis": "gth-szv", "pseudo": "gth-pbe"})
    out = tmp_path / "o"
    code, stdout, stderr = _run([str(run_dir), str(path), "--out", str(out), "--npoints", "60", "--json"], capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["errors"] == {} and report["bands"] == 8 and report["path"] == "GMKG"
    assert "8 electrons" in report["fermi_level_source"]
    data = json.loads((out / "bands.json").read_text())
    assert data["reference_ev"] is None
    predicted = np.array(data["predicted_ev"])
    assert predicted.shape == (60, 8) and np.all(np.diff(predicted, axis=1) >= -1e-9)
    # At Gamma: the on-site H against PySCF's S(Gamma) (uses the same canonical-order overlap).
    layer = band_targets.structure_file_target(path).structure
    s_gamma = overlap_kpoints(layer, GTH_SZV_CARBON, "gth-szv", "gth-pbe", np.zeros((1, 3)))[0]
    expected = scipy.linalg.eigh(ONSITE_GTH, s_gamma, eigvals_only=True) * EV_PER_HARTREE
    np.testing.assert_allclose(predicted[0], expected, atol=1e-9)
    # 8 valence electrons (gth-pbe: 4 per carbon) fill 4 bands over the 12x12 mesh and the path.
    kpoints = np.concatenate([np.array(data["kpoint_coordinates"]), monkhorst_pack((12, 12, 1))])
    overlaps = overlap_kpoints(layer, GTH_SZV_CARBON, "gth-szv", "gth-pbe", kpoints)
    fermi = fermi_level_from_electrons(solve_bands(np.broadcast_to(ONSITE_GTH, overlaps.shape), overlaps), 8)
    assert report["fermi_level_ev"] == pytest.approx(fermi * EV_PER_HARTREE, abs=1e-9)


@pytest.mark.parametrize(("provenance", "option"),
                         [({"pseudo": "gth-pbe"}, "--basis"), ({"basis": "gth-szv"}, "--pseudo")])
def test_structure_file_without_provenance_names_the_option(structure_file_run, tmp_path, capsys, provenance,
                                                            option) -> None:
    run_dir, path = structure_file_run
    _provenance(run_dir, provenance)
    out = tmp_path / "o"
    _assert_refused([str(run_dir), str(path)], out, capsys, f"pass {option}")
    code, _, stderr = _run([str(run_dir), str(path), "--out", str(out), "--basis", "gth-szv", "--pseudo", "gth-pbe"],
                           capsys)
    assert code == 0, stderr
