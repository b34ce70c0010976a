"""``hamkit data merge``: one store from stores made apart; mismatches and duplicates refused."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from hamkit.data.store import StoreReader, StoreWriter
from hamkit.data.store.layout import STRUCTURES
from hamkit.data.store.merge import merge_stores
from hamkit.errors import HamkitError

from tests.data.random_records import header, random_record
from tests.reliability.conftest import run_cli

LABELS = {"code": "pyscf", "code_version": "2.14.0", "method": "RKS", "xc": "b3lyp", "basis": "def2-svp",
          "grid_level": 3, "conv_tol": 1e-9, "max_cycle": 100}


def write_store(path: Path, keys: list[str], seed: int, **provenance) -> Path:
    """A store of random water records; ``source_id`` ``input:<key>``; run fields differ per file."""
    rng = np.random.default_rng(seed)
    run = {"command_line": f"made {path.name}", "created": f"2026-01-0{seed % 9 + 1}", "source": {"seed": seed}}
    with StoreWriter(path, header(**{**LABELS, **run, **provenance})) as writer:
        for key in keys:
            writer.write(random_record(rng, key, smiles="O", scf_cycles=7), source_id=f"input:{key}")
    return path


def assert_same_record(a, b) -> None:
    assert a.key == b.key and a.structure.charge == b.structure.charge
    assert np.array_equal(a.structure.numbers, b.structure.numbers)
    assert np.array_equal(a.structure.positions, b.structure.positions)
    assert np.array_equal(a.hamiltonian, b.hamiltonian) and np.array_equal(a.overlap, b.overlap)
    assert a.extras == b.extras


def test_merge_round_trip_keeps_records_and_label_settings(tmp_path, run_data):
    a = write_store(tmp_path / "a.h5", ["w0", "w1"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w2"], seed=2)
    report = merge_stores([a, b], tmp_path / "all.h5", command_line="merge it")
    assert report.counts == [2, 1] and report.total == 3
    with StoreReader(a) as first, StoreReader(b) as second, StoreReader(tmp_path / "all.h5") as merged:
        assert merged.keys == ["w0", "w1", "w2"]
        for source in (first, second):
            for key in source.keys:
                assert_same_record(source.get(key), merged.get(key))
                assert merged.source_id(key) == f"input:{key}"
        header_ = merged.header
        assert header_.basis == first.header.basis and header_.convention == first.header.convention
        assert header_.units == first.header.units
        assert {name: header_.provenance[name] for name in LABELS} == LABELS
        assert header_.provenance["command_line"] == "merge it"
        assert [entry["file"] for entry in header_.provenance["merged_from"]] == ["a.h5", "b.h5"]
        assert header_.provenance["merged_from"][1]["provenance"] == second.header.provenance
    status, out = run_data("info", str(tmp_path / "all.h5"), "--json")
    assert status == 0 and json.loads(out)["structures"] == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.h5", "all.h5", "b.h5"]  # no temporary left


def test_different_label_settings_are_refused(tmp_path):
    a = write_store(tmp_path / "a.h5", ["w0"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w1"], seed=2, xc="pbe", code_version="2.5.0")
    with pytest.raises(HamkitError, match=r"cannot merge .*a\.h5 and .*b\.h5.*code_version: a\.h5 has '2\.14\.0', "
                       r"b\.h5 has '2\.5\.0'; xc: a\.h5 has 'b3lyp', b\.h5 has 'pbe'"):
        merge_stores([a, b], tmp_path / "all.h5")
    assert not (tmp_path / "all.h5").exists()


def test_duplicate_keys_and_inputs_are_refused(tmp_path):
    a = write_store(tmp_path / "a.h5", ["w0", "w1"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w1"], seed=2)
    with pytest.raises(HamkitError, match=r"record 'w1' is in both .*a\.h5 and .*b\.h5"):
        merge_stores([a, b], tmp_path / "all.h5")
    c = write_store(tmp_path / "c.h5", ["other"], seed=3)
    with h5py.File(c, "r+") as handle:  # same input as a.h5's w0 under another key
        handle[STRUCTURES]["other"].attrs["source_id"] = "input:w0"
    with pytest.raises(HamkitError, match=r"a\.h5 record 'w0' and .*c\.h5 record 'other' were made from the "
                       r"same input \(input:w0\)"):
        merge_stores([a, c], tmp_path / "all.h5")
    assert not (tmp_path / "all.h5").exists()


def test_existing_output_needs_overwrite(tmp_path):
    a = write_store(tmp_path / "a.h5", ["w0"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w1"], seed=2)
    out = tmp_path / "all.h5"
    out.write_text("keep me")
    with pytest.raises(HamkitError, match="already exists.*--overwrite"):
        merge_stores([a, b], out)
    assert out.read_text() == "keep me"
    merge_stores([a, b], out, overwrite=True)
    assert StoreReader(out).keys == ["w0", "w1"]


def test_bad_record_mid_merge_leaves_nothing(tmp_path):
    a = write_store(tmp_path / "a.h5", ["w0"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w1", "w2"], seed=2)
    with h5py.File(b, "r+") as handle:
        handle[STRUCTURES]["w2"]["hamiltonian"][0, 0] = np.nan
    with pytest.raises(HamkitError, match=r"b\.h5.*'w2'"):
        merge_stores([a, b], tmp_path / "all.h5")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.h5", "b.h5"]


def test_cli_errors_exit_2_without_traceback(tmp_path, capsys):
    a = write_store(tmp_path / "a.h5", ["w0"], seed=1)
    b = write_store(tmp_path / "b.h5", ["w0"], seed=2)
    out = str(tmp_path / "all.h5")
    status, _, err = run_cli(capsys, "data", "merge", str(a), str(b), "--out", out)
    assert status == 2 and "record 'w0' is in both" in err and "a.h5" in err and "b.h5" in err

    c = write_store(tmp_path / "c.h5", ["w1"], seed=3)
    with h5py.File(c, "r+") as handle:  # what a killed run leaves
        handle[STRUCTURES].create_group("half").create_dataset("numbers", data=np.array([8, 1, 1]))
    status, _, err = run_cli(capsys, "data", "merge", str(a), str(c), "--out", out)
    assert status == 2 and "c.h5: record 'half' was left incomplete" in err

    d = write_store(tmp_path / "d.h5", ["w2"], seed=4)
    with h5py.File(d, "r+") as handle:
        handle[STRUCTURES]["w2"].attrs["complete"] = "yes"
    status, _, err = run_cli(capsys, "data", "merge", str(a), str(d), "--out", out)
    assert status == 2 and "d.h5: record 'w2' is damaged" in err

    status, _, err = run_cli(capsys, "data", "merge", str(a), "--out", out)
    assert status == 2 and "at least two stores" in err
    status, _, err = run_cli(capsys, "data", "merge", str(a), str(c), "--out", str(a), "--overwrite")
    assert status == 2 and "is one of the inputs" in err

    Path(out).write_text("x")
    e = write_store(tmp_path / "e.h5", ["w3"], seed=5)
    status, _, err = run_cli(capsys, "data", "merge", str(a), str(e), "--out", out)
    assert status == 2 and "already exists" in err
    status, stdout, _ = run_cli(capsys, "data", "merge", str(a), str(e), "--out", out, "--overwrite")
    assert status == 0 and "merged 2 records from 2 stores (" in stdout
