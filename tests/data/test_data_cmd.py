"""``hamkit data``: generate, info --json, convert, and user errors."""

from __future__ import annotations

import json

import pytest

import hamkit_plugins.datasets
from hamkit.data.store import StoreReader
from hamkit.errors import HamkitError


def test_info_json_has_the_documented_keys(run_data):
    status, out = run_data("info", "embedded:water", "--json")
    info = json.loads(out)
    assert status == 0
    assert {"format", "structures", "elements", "basis", "convention", "units",
            "provenance"} <= set(info)
    assert info["structures"] == 50 and info["elements"] == [1, 8]
    assert info["convention"] == "canonical" and info["provenance"]["xc"] == "b3lyp"
    status, out = run_data("info", "embedded:qm9_mini")
    assert "H C N O F" in out and "command_line" in out


def test_generate_records_its_command_line_and_resumes(run_data, tmp_path):
    out = tmp_path / "w.h5"
    status, text = run_data("generate", "--preset", "water", "--count", "1", "--xc", "hf",
                            "--basis", "sto-3g", "--out", str(out), "--no-progress")
    assert status == 0 and "computed 1, already stored 0, failed 0" in text
    assert StoreReader(out).header.provenance["command_line"].startswith(
        "hamkit data generate --preset water --out")
    status, text = run_data("generate", "--preset", "water", "--count", "2", "--xc", "hf",
                            "--basis", "sto-3g", "--out", str(out), "--no-progress")
    assert "computed 1, already stored 1" in text and len(StoreReader(out)) == 2


def test_convert_through_the_registry(run_data, tmp_path):
    out = tmp_path / "copy.h5"
    status, text = run_data("convert", "embedded:qm9_mini", "--from", "hamkit", "--out", str(out),
                            "--limit", "3")
    assert status == 0 and "wrote 3 structures" in text
    copy, original = StoreReader(out), hamkit_plugins.datasets.open_dataset("embedded:qm9_mini")
    assert copy.keys == original.keys[:3]
    assert (copy[2].hamiltonian == original[2].hamiltonian).all()
    assert copy.header.provenance["converted_from"]["format"] == "hamkit"
    assert copy.header.provenance["xc"] == "b3lyp"
    with pytest.raises(HamkitError, match="already exists"):
        run_data("convert", "embedded:water", "--from", "hamkit", "--out", str(out))
    with pytest.raises(HamkitError, match="unknown dataset 'hamkti'. Did you mean 'hamkit'"):
        run_data("convert", "x", "--from", "hamkti", "--out", str(tmp_path / "y.h5"))


def test_bad_inputs_are_user_errors(run_data, tmp_path):
    with pytest.raises(HamkitError, match="no such file"):
        run_data("generate", "--xyz", str(tmp_path / "none.xyz"), "--out", str(tmp_path / "o.h5"))
    with pytest.raises(HamkitError, match="unknown preset 'wate'"):
        run_data("generate", "--preset", "wate", "--out", str(tmp_path / "o.h5"))
    bad = tmp_path / "bad.smi"
    bad.write_text("CCO\nnot_a_smiles\n")
    with pytest.raises(HamkitError, match=r"bad\.smi:2: RDKit cannot parse"):
        run_data("generate", "--smiles", str(bad), "--out", str(tmp_path / "o.h5"))
    with pytest.raises(HamkitError, match="not an HDF5 file"):
        run_data("info", str(bad))
    assert not (tmp_path / "o.h5").exists()
