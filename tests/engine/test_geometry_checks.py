"""Geometry checks before predict, scf and train; split-size checks; the size warning."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hamkit.bench.molecules import water_cluster
from hamkit.cli.main import main
from hamkit.data.geometry_checks import (
    MIN_DISTANCE,
    SINGULAR_OVERLAP,
    check_geometry,
    check_overlap,
    check_structure,
)
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.data.structure_files import NamedStructure, read_structure_files
from hamkit.engine import prepare
from hamkit.engine.inference import predict_structures, size_warnings
from hamkit.engine.restore import load_trained_model
from hamkit.errors import HamkitError
from hamkit.physics.eigen import DEFAULT_OVERLAP_THRESHOLD
from hamkit.recipe import load_recipe

from tests.engine.test_train_end_to_end import TINY
from tests.workflows.xyz_files import write_xyz

WATER = (np.array([8, 1, 1]), np.array([[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]]))
A = 2.46
GRAPHENE_CELL = np.array([[A, 0.0, 0.0], [-A / 2, A * np.sqrt(3) / 2, 0.0], [0.0, 0.0, 20.0]])
GRAPHENE = np.array([[0.0, 0.0, 10.0], [0.0, A / np.sqrt(3), 10.0]])
LAYER = (True, True, False)


@pytest.fixture(scope="module")
def run_dir(quickstart_recipe, tmp_path_factory):
    """The quickstart recipe trained for 3 steps on 10 waters (a few seconds)."""
    from hamkit.engine.run import run_training

    out = tmp_path_factory.mktemp("geometry") / "run"
    run_training(load_recipe(quickstart_recipe, TINY), out, show_progress=False)
    return out


def run_with_largest(run_dir, tmp_path, largest):
    """A copy of the run whose model_info.json records ``largest`` (None: key removed)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    path = copy / "model_info.json"
    info = json.loads(path.read_text())
    info.pop("largest_training_atoms", None)
    if largest is not None:
        info["largest_training_atoms"] = largest
    path.write_text(json.dumps(info))
    return copy


def cli(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- check_geometry -------------------------------------------------------------------------

def test_normal_molecule_and_graphene_pass():
    check_geometry(*WATER, "water.xyz")
    check_geometry([6, 6], GRAPHENE, "graphene.cif", GRAPHENE_CELL, LAYER)
    check_structure(Structure([6, 6], GRAPHENE, cell=GRAPHENE_CELL, pbc=LAYER), "graphene")
    check_geometry([1, 1], [[0, 0, 0], [0, 0, MIN_DISTANCE * 1.01]], "just apart")


@pytest.mark.parametrize("numbers,positions,fragments", [
    ([8, 1, 1], np.vstack([WATER[1], WATER[1][1:2]])[[0, 1, 3]], ["atom 2 (H) and atom 3 (H)", "0 A apart"]),
    ([1, 1], [[0, 0, 0], [0, 0, 0.05]], ["atom 1 (H) and atom 2 (H) are 0.05 A apart", "1-based"]),
    ([8, 1, 1], np.where(np.eye(3, dtype=bool), [np.nan, np.inf, -np.inf], WATER[1]),
     ["3 atom(s) have non-finite", "atom 1 (O)"]),
    ([1, 1], [[0, 0, 0], [0, 0, 2e6]], ["1 atom(s) lie beyond 1e+06 A (atom 2 (H) at [0.0, 0.0, 2000000.0]"]),
    ([8, 1, 0], WATER[1], ["atom 3: 0", "elements 1..118"]),
    ([8, 1, 119], WATER[1], ["atom 3: 119"]),
    ([], np.zeros((0, 3)), ["no atoms"]),
    ([8, 1], WATER[1], ["positions have shape (3, 3)"]),
])
def test_bad_molecules_are_refused(numbers, positions, fragments):
    with pytest.raises(HamkitError) as error:
        check_geometry(numbers, positions, "bad.xyz[4]")
    assert str(error.value).startswith("bad.xyz[4]: ")
    for fragment in fragments:
        assert fragment in str(error.value)


@pytest.mark.parametrize("positions,cell,fragments", [
    ([[0, 0, 10], [A - 0.05, 0, 10]], GRAPHENE_CELL,
     ["atom 1 (C) and the periodic image of atom 2 (C) (lattice translation [-1, 0, 0])", "0.05 A apart"]),
    ([[0, 0, 10], [7 * A - 0.05, 0, 10]], GRAPHENE_CELL, ["lattice translation [-7, 0, 0]"]),
    ([[0, 0, 0]], np.diag([0.05, 3.0, 3.0]), ["atom 1 (C) is 0.05 A from its own periodic image",
                                              "the cell is too small"]),
    ([[0, 0, 0]], np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 0, 3.0]]), ["the cell is degenerate (volume 0"]),
    ([[0, 0, 0]], np.full((3, 3), np.nan), ["the cell has non-finite entries"]),
    ([[0, 0, 0]], np.diag([3.0, 3.0, 1e7]), ["the cell has entries beyond 1e+06 A"]),
])
def test_bad_crystals_are_refused(positions, cell, fragments):
    numbers = [6] * len(positions)
    with pytest.raises(HamkitError) as error:
        check_geometry(numbers, np.asarray(positions, dtype=float), "c.cif", cell, (True, True, True))
    for fragment in fragments:
        assert fragment in str(error.value)


def test_a_skewed_cell_of_a_normal_lattice_passes():
    """The same square lattice, written with a very skewed second vector: no false alarm."""
    cell = np.array([[2.0, 0.0, 0.0], [200.0, 2.0, 0.0], [0.0, 0.0, 10.0]])
    check_geometry([6], [[0.0, 0.0, 5.0]], "skewed", cell, LAYER)
    with pytest.raises(HamkitError, match="own periodic image"):
        check_geometry([6], [[0.0, 0.0, 5.0]], "skewed", cell * 0.04, LAYER)


def test_ten_thousand_atoms_are_checked_quickly():
    grid = np.stack(np.meshgrid(*[np.arange(22)] * 3), -1).reshape(-1, 3) * 2.0
    numbers = np.ones(len(grid), dtype=int)
    start = time.perf_counter()
    check_geometry(numbers, grid, "grid")
    check_geometry(numbers, grid, "grid", np.eye(3) * 44.0, (True, True, True))
    assert time.perf_counter() - start < 5.0
    grid[5000] = grid[5001] + [0.0, 0.0, 0.01]
    with pytest.raises(HamkitError, match="atom 5001 .H. and atom 5002 .H. are 0.01 A apart"):
        check_geometry(numbers, grid, "grid")


coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                       st.floats(-3.0, 3.0), st.sampled_from([0.0, 1.0, np.nan, np.inf]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atoms=st.lists(st.tuples(st.integers(-2, 125), coordinate, coordinate, coordinate), min_size=0, max_size=8),
       cell=st.one_of(st.none(), st.lists(coordinate, min_size=9, max_size=9)),
       duplicate=st.booleans())
def test_random_geometries_pass_or_raise_a_clear_error(atoms, cell, duplicate):
    numbers = np.array([a[0] for a in atoms], dtype=np.int64)
    positions = np.array([a[1:] for a in atoms], dtype=float).reshape(-1, 3)
    if duplicate and len(atoms):
        numbers, positions = np.append(numbers, numbers[:1]), np.vstack([positions, positions[:1]])
    pbc = (False,) * 3 if cell is None else (True, True, True)
    try:
        check_geometry(numbers, positions, "random.xyz", None if cell is None else np.reshape(cell, (3, 3)), pbc)
    except HamkitError as error:
        assert str(error).startswith("random.xyz: ")
    else:
        assert duplicate is False or len(atoms) == 0


# --- check_overlap -----------------------------------------------------------------------

def test_overlap_check_accepts_what_eigen_handles_and_refuses_singular_s():
    check_overlap(np.eye(4), "fine")
    near = np.diag([1.0, 1.0, 2.0, 10 * SINGULAR_OVERLAP])  # projected out by eigen.py: accepted
    assert 10 * SINGULAR_OVERLAP <= DEFAULT_OVERLAP_THRESHOLD
    check_overlap(near, "near")
    singular = np.ones((2, 2))
    with pytest.raises(HamkitError, match=r"mol\.xyz: the overlap matrix S is singular: its smallest eigenvalue"):
        check_overlap(singular, "mol.xyz")
    with pytest.raises(HamkitError, match="indefinite .negative eigenvalue.: its smallest eigenvalue is -1"):
        check_overlap(np.diag([1.0, -1.0]), "mol.xyz")
    with pytest.raises(HamkitError, match="non-finite"):
        check_overlap(np.array([[1.0, np.nan], [np.nan, 1.0]]), "mol.xyz")


# --- structure files ---------------------------------------------------------------------

def test_structure_files_refuse_bad_frames(tmp_path):
    good, bad = WATER, (WATER[0], WATER[1] * np.array([1.0, 0.0, 1.0]))
    path = write_xyz(tmp_path / "frames.xyz", [good, good, bad])
    with pytest.raises(HamkitError, match=r"frames\.xyz\[2\]: atom 2 \(H\) and atom 3 \(H\) are 0 A apart"):
        read_structure_files([path])
    nan = tmp_path / "nan.xyz"
    nan.write_text("3\nx\nO 0 0 nan\nH 0 0.75 -0.47\nH 0 -0.75 -0.47\n")
    with pytest.raises(HamkitError, match=r"nan\.xyz: 1 atom\(s\) have non-finite"):
        read_structure_files([nan])
    zero = tmp_path / "zero.extxyz"
    zero.write_text('1\nLattice="0 0 0 0 0 0 0 0 0" Properties=species:S:1:pos:R:3 pbc="T T T"\nC 0 0 0\n')
    with pytest.raises(HamkitError, match="the cell is degenerate"):
        read_structure_files([zero], allow_periodic=True)
    layer = tmp_path / "graphene.extxyz"
    layer.write_text(f'2\nLattice="{" ".join(map(str, GRAPHENE_CELL.ravel()))}" '
                     'Properties=species:S:1:pos:R:3 pbc="T T F"\n'
                     + "".join(f"C {x} {y} {z}\n" for x, y, z in GRAPHENE))
    assert read_structure_files([layer], allow_periodic=True)[0].structure.is_periodic


# --- training data -------------------------------------------------------------------------

def test_prepare_data_checks_records_and_split_sizes(quickstart_recipe, monkeypatch):
    data = prepare.prepare_data(load_recipe(quickstart_recipe))
    assert data.warnings == [] and len(data.sizes) == len(data.dataset) == 50
    assert data.largest_training_atoms == 3
    records = [HamiltonianRecord(Structure(*WATER), np.zeros((24, 24)), key=f"w{i}") for i in range(9)]
    records.append(HamiltonianRecord(Structure(WATER[0], WATER[1] * [1, 0, 1]), np.zeros((24, 24)), key="flat"))
    monkeypatch.setattr(prepare, "open_dataset", lambda recipe: records)
    with pytest.raises(HamkitError, match=r"embedded:water: record 'flat' \(index 9\): atom 2 \(H\) and atom 3"):
        prepare.prepare_data(load_recipe(quickstart_recipe))


@pytest.mark.parametrize("overrides,fragments", [
    (["train.batch_size=64"], ["train.batch_size 64 exceeds the 40 training structures"]),
    (["data.split={train: 0.9, val: 0.1, test: 0.0}"], ["no test structures (train 45, val 5, test 0 of 50",
                                                         "no test metrics"]),
    (["data.split={train: 0.9, val: 0.0, test: 0.1}", "train.early_stopping=3"],
     ["no validation structures", "train.eval_every 250, train.early_stopping 3 asks for validation"]),
])
def test_split_size_warnings_name_the_recipe(quickstart_recipe, monkeypatch, overrides, fragments):
    records = [HamiltonianRecord(Structure(*WATER), np.zeros((24, 24)), key=f"w{i}") for i in range(50)]
    monkeypatch.setattr(prepare, "open_dataset", lambda recipe: records)
    [warning] = prepare.prepare_data(load_recipe(quickstart_recipe, overrides)).warnings
    assert warning.startswith(f"{quickstart_recipe}: ")
    for fragment in fragments:
        assert fragment in warning


def test_an_empty_training_split_is_an_error(quickstart_recipe, tmp_path, monkeypatch):
    index = tmp_path / "split.json"
    index.write_text(json.dumps({"train": [], "val": [0], "test": [1]}))
    records = [HamiltonianRecord(Structure(*WATER), np.zeros((24, 24)), key=f"w{i}") for i in range(5)]
    monkeypatch.setattr(prepare, "open_dataset", lambda recipe: records)
    recipe = load_recipe(quickstart_recipe, [f"data.split={{kind: index_file, index_file: {index}}}"])
    with pytest.raises(HamkitError, match="no training structures .train 0, val 1, test 1 of 5 structures"):
        prepare.prepare_data(recipe)


# --- predict and scf -----------------------------------------------------------------------

@pytest.mark.parametrize("command", ["predict", "scf"])
def test_commands_refuse_bad_geometry_before_any_work(run_dir, tmp_path, capsys, command):
    bad = write_xyz(tmp_path / "bad.xyz", [WATER, (WATER[0], WATER[1] * [1, 0, 1])])
    out = tmp_path / "x.npz"
    argv = [command, run_dir, bad] + (["--out", out] if command == "predict" else [])
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err and not out.exists() and not list(tmp_path.glob("*.npz*"))
    assert "bad.xyz[1]: atom 2 (H) and atom 3 (H)" in " ".join(err.split())


def test_predict_refuses_a_singular_overlap(run_dir):
    """Atoms 1e-6 A apart (past the geometry check): S's smallest eigenvalue is ~1e-13."""
    trained = load_trained_model(run_dir)
    positions = np.vstack([WATER[1], WATER[1][2] + [0.0, 0.0, 1e-6]])
    item = NamedStructure("close.xyz", Structure([8, 1, 1, 1], positions, charge=1))
    with pytest.raises(HamkitError, match=r"close\.xyz: the overlap matrix S is singular: its smallest eigenvalue is "
                                          r"[0-9.]+e-1[0-9].*atoms \(nearly\) on top of each other"):
        predict_structures(trained, [item])
    assert len(predict_structures(trained, [NamedStructure("water", Structure(*WATER))])) == 1


def test_large_structures_get_a_size_warning(run_dir, tmp_path, capsys):
    run = run_with_largest(run_dir, tmp_path, 3)
    assert load_trained_model(run).largest_training_atoms == 3
    cluster = water_cluster(5)
    xyz = write_xyz(tmp_path / "cluster.xyz", [(WATER[0], WATER[1]), (cluster.numbers, cluster.positions)])
    code, _, err = cli(capsys, "predict", run, xyz, "--out", tmp_path / "p.npz")
    err = " ".join(err.split())
    assert code == 0 and (tmp_path / "p.npz").exists()
    assert "warning: " in err and "cluster.xyz[1]: 15 atoms, 5x the largest training structure (3 atoms)" in err
    assert "225 atom-pair blocks (14400 H elements, 120 orbitals)" in err and "cluster.xyz[0]" not in err
    code, _, err = cli(capsys, "scf", run, xyz, "--xc", "hf", "--max-cycle", "2", "--json")
    assert code == 0 and "15 atoms, 5x the largest" in " ".join(err.split())


def test_runs_without_training_sizes_warn_above_200_atoms(run_dir, tmp_path):
    trained = load_trained_model(run_with_largest(run_dir, tmp_path, None))
    assert trained.largest_training_atoms is None
    items = [NamedStructure(f"w{n}", water_cluster(n)) for n in (66, 67)]  # 198 and 201 atoms
    [message] = size_warnings(trained, items, [trained.graph(item.structure) for item in items])
    assert message.startswith("w67: 201 atoms, more than 200 atoms") and " MB of memory and " in message


def test_bad_largest_training_atoms_is_reported(run_dir, tmp_path):
    run = run_with_largest(run_dir, tmp_path, "many")
    with pytest.raises(HamkitError, match="largest_training_atoms must be a positive integer"):
        load_trained_model(run)
