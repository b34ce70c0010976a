"""``hamkit data convert|info --from qh9|md17|deeph`` through the plugin registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hamkit_plugins.deeph
import hamkit_plugins.md17
import hamkit_plugins.qh9
from hamkit.cli import data_cmd
from hamkit.data.store import StoreReader

from tests.data_command_runner import data_command_runner
from tests.formats.test_deeph import write_published_folder
from tests.formats.test_md17 import write_md17
from tests.formats.test_qh9 import qh9_rows, write_sqlite

INFO_FROM = hasattr(data_cmd, "dataset_info")


@pytest.fixture
def run_data(monkeypatch, capsys):
    """Run ``hamkit data ...`` with the three format plugins loaded; returns (status, stdout)."""
    plugins = {"qh9": hamkit_plugins.qh9, "md17": hamkit_plugins.md17, "deeph": hamkit_plugins.deeph}
    return data_command_runner(monkeypatch, capsys, plugins)


@pytest.fixture
def sources(tmp_path, references, basis) -> dict[str, str]:
    """One small file (or folder) per format, holding water and formaldehyde."""
    for name, reference in zip(("1", "2"), references):
        write_published_folder(tmp_path / "deeph" / name, reference, basis)
    return {
        "qh9": str(write_sqlite(tmp_path / "q.db", qh9_rows(references, dynamic=True), dynamic=True)),
        "md17": str(write_md17(tmp_path / "m.db", references, basis)),
        "deeph": str(tmp_path / "deeph"),
    }


@pytest.mark.parametrize("format_name", ["qh9", "md17", "deeph"])
def test_convert_to_a_store(run_data, sources, references, tmp_path, format_name):
    out = tmp_path / f"{format_name}.h5"
    status, text = run_data("convert", sources[format_name], "--from", format_name, "--out", str(out))
    assert status == 0 and "wrote 2 structures" in text
    with StoreReader(out) as store:
        assert store.header.provenance["converted_from"]["format"] == format_name
        for record, reference in zip(store, references):
            np.testing.assert_allclose(record.hamiltonian, reference.hamiltonian, rtol=0, atol=1e-10)
            np.testing.assert_allclose(record.overlap, reference.canonical_overlap, rtol=0, atol=1e-10)
        if format_name == "qh9":
            assert store[0].extras["geo_id"] == 7


@pytest.mark.skipif(not INFO_FROM, reason="needs 'hamkit data info --from' (lead: apply the "
                    "data_cmd.py change from the formats report)")
@pytest.mark.parametrize("format_name", ["qh9", "md17", "deeph"])
def test_info_from_a_format(run_data, sources, format_name):
    status, out = run_data("info", sources[format_name], "--from", format_name, "--json")
    info = json.loads(out)
    assert status == 0 and info["format"] == format_name and info["structures"] == 2
    assert info["elements"] == [1, 6, 8] and info["orbitals"] == {"min": 24, "max": 38}
    status, out = run_data("info", sources[format_name], "--from", format_name)
    assert "structures   2" in out and "H C O" in out and "note" in out
