"""``hamkit bands`` on a real (tiny) DeepH-E3 run trained on graphene tight-binding folders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hamkit.cli.main import main
from hamkit.data.basis import OrbitalBasis
from hamkit.physics.bands import EV_PER_HARTREE
from hamkit.testing.tight_binding import GRAPHENE_A, graphene, nearest_neighbour_record

from tests.cli.extxyz_files import write_extxyz
from tests.periodic.tiny_runs import tiny_deeph_e3_overrides

ONSITE_EV = 0.4
TINY_DEEPH_E3 = tiny_deeph_e3_overrides(steps=20)


@pytest.fixture(scope="module")
def graphene_run(tmp_path_factory, request) -> Path:
    """deeph_e3 trained 20 steps on 8 strained graphene cells (s orbitals, fermi_level 0.4 eV)."""
    from hamkit.engine.run import run_training
    from hamkit.recipe import load_recipe
    from hamkit_plugins.deeph.writer import write_deeph_folder

    root = tmp_path_factory.mktemp("bands_e2e")
    basis = OrbitalBasis.from_shells({6: [0]}, name="tight-binding-s")
    for index, a in enumerate(np.linspace(0.97, 1.03, 8) * GRAPHENE_A):
        scale = (GRAPHENE_A / a) ** 2
        record = nearest_neighbour_record(graphene(a=a, vacuum=12.0), ONSITE_EV, -2.7 * scale, 0.1 * scale)
        write_deeph_folder(replace(record, extras={"fermi_level": ONSITE_EV / EV_PER_HARTREE}),
                           root / "data" / f"g{index}", basis)
    overrides = [f"data.dataset={{name: deeph, path: {root / 'data'}}}", *TINY_DEEPH_E3]
    recipe = load_recipe(request.config.rootpath / "recipes" / "deeph_e3.yaml", overrides)
    run_training(recipe, root / "run", show_progress=False)
    return root / "run"


def test_bands_of_a_trained_periodic_run(graphene_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "bands"
    code = main(["bands", str(graphene_run), "--out", str(out), "--npoints", "60", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["labels"] == ["Γ", "M", "K", "Γ"] and report["bands"] == 2 and report["kpoints"] == 60
    assert report["fermi_level_ev"] == pytest.approx(ONSITE_EV, abs=1e-12)
    window = report["errors"]["window"]
    assert window["values"] > 0 and 0 < window["mae_mev"] <= window["max_mev"] < 1e5
    data = json.loads((out / "bands.json").read_text())
    predicted = np.array(data["predicted_ev"])
    reference = np.array(data["reference_ev"])
    at_k = int(np.argmin(np.abs(np.array(data["x"]) - data["special_x"][2])))
    # The reference is the Dirac point; an equivariant prediction on the exact honeycomb keeps
    # the two bands degenerate at K (a scrambled R <-> H(R) pairing would split them).
    np.testing.assert_allclose(reference[at_k], ONSITE_EV, atol=1e-9)
    assert abs(predicted[at_k, 1] - predicted[at_k, 0]) < 1e-6
    assert (out / "bands.png").stat().st_size > 1000


def test_structure_file_without_pyscf_basis_is_a_clear_error(graphene_run: Path, tmp_path: Path, capsys) -> None:
    path = write_extxyz(graphene(vacuum=12.0), tmp_path / "layer.extxyz")
    code = main(["bands", str(graphene_run), str(path), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    # The deeph provenance names no PySCF pseudopotential: the command says which option to pass.
    assert code == 2 and "--pseudo" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()
