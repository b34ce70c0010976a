"""``hamkit bench``: table, JSON keys, SCF speed-up column, missing recipe."""

from __future__ import annotations

import json

import pytest

import hamkit.cli.main as cli_main
from hamkit.bench.molecules import alkane, size_series, water_cluster
from hamkit.bench.suite import ROW_KEYS
from hamkit.cli import bench_cmd
from hamkit.errors import HamkitError


@pytest.fixture
def hamkit_main(monkeypatch):
    """``hamkit`` with ``bench`` registered (whether or not main.py lists it yet)."""
    if bench_cmd not in cli_main.BUILTIN_COMMAND_MODULES:
        monkeypatch.setattr(cli_main, "BUILTIN_COMMAND_MODULES", (*cli_main.BUILTIN_COMMAND_MODULES, bench_cmd))
    return cli_main.main


def test_quick_no_scf_writes_table_and_json(hamkit_main, repo_root, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(repo_root)
    out = tmp_path / "out.json"
    assert hamkit_main(["bench", "recipes/quickstart.yaml", "--quick", "--no-scf", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "machine:" in printed and "train step ms" in printed and "OMP_NUM_THREADS=1" in printed
    assert "speed-up" not in printed
    results = json.loads(out.read_text())
    assert set(results) >= {"machine", "settings", "note", "rows"}
    assert set(results["machine"]) >= {"cpu", "cores", "torch", "torch_threads", "gpu"}
    rows = results["rows"]
    assert [row["size"] for row in rows] == [1, 2, 4]  # the 3 smallest default sizes, one row each
    assert [row["atoms"] for row in rows] == [3, 6, 12]
    for row in rows:
        assert set(row) == set(ROW_KEYS)
        assert row["train_step_s"] > 0 and row["inference_s"] > 0 and row["parameters"] > 0
        assert row["scf_s"] is None and row["speedup"] is None


def test_quick_scf_shows_speedup(hamkit_main, repo_root, monkeypatch, tmp_path, capsys):
    pytest.importorskip("pyscf")
    monkeypatch.chdir(repo_root)
    out = tmp_path / "scf.json"
    assert hamkit_main(["bench", "--quick", "--sizes", "1", "--repeats", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "SCF s" in printed
    [row] = json.loads(out.read_text())["rows"]
    assert row["scf_s"] > 0 and row["speedup"] > 0 and row["scf_converged"]


def test_missing_recipe_exits_2(hamkit_main, tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert hamkit_main(["bench", str(missing), "--no-scf", "--quick"]) == 2
    assert f"recipe file not found: {missing}" in capsys.readouterr().err


def test_size_series_picks_molecules_the_basis_covers():
    assert [m.structure.n_atoms for m in size_series([1, 6, 8], [1, 3])] == [5, 11]  # alkanes
    assert [m.name for m in size_series([1, 8], [2])] == ["(H2O)2"]
    assert water_cluster(9).n_atoms == 27 and alkane(4).n_atoms == 14
    with pytest.raises(HamkitError):
        size_series([1, 7], [1])
