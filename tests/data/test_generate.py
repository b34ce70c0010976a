"""PySCF label generation: stored H and S, resume without recomputation, failure log."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from hamkit.data import generate as generate_module
from hamkit.data.generate import failed_log_path, generate
from hamkit.data.pyscf_labels import LabelSettings
from hamkit.data.sources import preset_jobs
from hamkit.data.store import StoreReader
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_to_canonical

HF_STO3G = LabelSettings(xc="hf", basis="sto-3g")


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200), buffer


def pyscf_overlap(record, basis_name: str, store_basis) -> np.ndarray:
    """PySCF's overlap of the record's geometry, converted to canonical order."""
    from pyscf import gto

    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(record.structure.numbers,
                                                          record.structure.positions)],
                unit="Angstrom", basis=basis_name, verbose=0)
    return matrix_to_canonical(mol.intor("int1e_ovlp"), record.structure.numbers, store_basis, "pyscf")


def test_generate_then_resume_without_recomputation(tmp_path, monkeypatch):
    out = tmp_path / "water.h5"
    console, log = _console()
    jobs = preset_jobs("water", 2, seed=7)
    report = generate(jobs, out, HF_STO3G, source={"kind": "preset"}, command_line="first",
                      progress=False, console=console)
    assert report.computed == ["water_000000", "water_000001"] and not report.failed
    store = StoreReader(out)
    assert store.keys == report.computed
    provenance = store.header.provenance
    assert provenance["xc"] == "hf" and provenance["basis"] == "sto-3g"
    assert provenance["code"] == "pyscf" and provenance["command_line"] == "first"
    assert {"code_version", "grid_level", "hamkit_version", "created"} <= set(provenance)
    for record in store:
        assert np.allclose(record.hamiltonian, record.hamiltonian.T, atol=1e-12)
        assert np.abs(record.overlap - pyscf_overlap(record, "sto-3g", store.basis)).max() < 1e-13
        assert record.extras["energy"] < -74.0 and record.extras["scf_cycles"] > 0
    # the p block is reordered (py, pz, px): not the raw PySCF matrix
    store.close()

    calls = []
    monkeypatch.setattr(generate_module, "label_job",
                        lambda *a, **k: calls.append(a) or pytest.fail("recomputed"))
    console, log = _console()
    again = generate(preset_jobs("water", 2, seed=7), out, HF_STO3G, command_line="second",
                     progress=False, console=console)
    assert again.computed == [] and again.skipped == report.computed and calls == []
    assert "2 structure(s) already stored" in log.getvalue()
    resumed = StoreReader(out).header.provenance
    assert resumed["command_line"] == "first" and resumed["resumed"][0]["command_line"] == "second"


def test_resume_refuses_other_settings_or_other_inputs(tmp_path):
    out = tmp_path / "water.h5"
    console, _ = _console()
    generate(preset_jobs("water", 1, seed=0), out, HF_STO3G, progress=False, console=console)
    with pytest.raises(HamkitError, match=r"different label settings .*xc: stored 'hf', requested 'pbe'"):
        generate(preset_jobs("water", 1, seed=0), out, LabelSettings(xc="pbe", basis="sto-3g"),
                 progress=False, console=console)
    with pytest.raises(HamkitError, match="made from a different input"):
        generate(preset_jobs("water", 1, seed=1), out, HF_STO3G, progress=False, console=console)


def test_unconverged_scf_is_logged_and_skipped(tmp_path):
    out = tmp_path / "water.h5"
    console, log = _console()
    settings = LabelSettings(xc="b3lyp", basis="sto-3g", max_cycle=1, conv_tol=1e-14)
    report = generate(preset_jobs("water", 1, seed=0), out, settings, progress=False,
                      console=console)
    assert report.computed == [] and report.failed[0][0] == "water_000000"
    entry = json.loads(failed_log_path(out).read_text().splitlines()[0])
    assert entry["key"] == "water_000000" and "did not converge" in entry["reason"]
    assert "water_000000 skipped" in log.getvalue()
    assert len(StoreReader(out)) == 0


def test_invalid_settings_are_user_errors(tmp_path):
    jobs = preset_jobs("water", 1, seed=0)
    with pytest.raises(HamkitError, match="functional 'b3lpy'"):
        generate(jobs, tmp_path / "a.h5", LabelSettings(xc="b3lpy"), progress=False)
    with pytest.raises(HamkitError, match="no basis 'def2-nope'"):
        generate(jobs, tmp_path / "a.h5", LabelSettings(basis="def2-nope"), progress=False)
    assert not (tmp_path / "a.h5").exists()


def test_parallel_workers_match_serial(tmp_path):
    console, _ = _console()
    jobs = preset_jobs("water", 2, seed=3)
    generate(jobs, tmp_path / "serial.h5", HF_STO3G, progress=False, console=console)
    generate(jobs, tmp_path / "parallel.h5", HF_STO3G, workers=2, progress=False, console=console)
    serial, parallel = StoreReader(tmp_path / "serial.h5"), StoreReader(tmp_path / "parallel.h5")
    assert serial.keys == parallel.keys
    for a, b in zip(serial, parallel):
        assert np.abs(a.hamiltonian - b.hamiltonian).max() < 1e-8
        assert np.array_equal(a.overlap, b.overlap)


@pytest.mark.slow
def test_kill_minus_nine_then_resume_keeps_every_finished_structure(tmp_path):
    """A real `hamkit data generate` killed with SIGKILL resumes without recomputing."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "water.h5"
    argv = [sys.executable, "-m", "hamkit.cli.main", "data", "generate", "--preset", "water",
            "--count", "12", "--xc", "b3lyp", "--basis", "def2-svp", "--out", str(out), "--seed", "3"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stored() -> list[str]:
        try:
            with StoreReader(out) as store:
                return list(store.keys)
        except Exception:  # noqa: BLE001 - not created yet, or being written
            return []

    # The writer holds the HDF5 file open (and locked) while it runs, so watch its size:
    # every finished structure is flushed, so the file grows record by record.
    deadline = time.time() + 240
    sizes: set[int] = set()
    while len(sizes) < 4 and process.poll() is None and time.time() < deadline:
        if out.exists():
            sizes.add(out.stat().st_size)
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    finished = stored()
    assert 1 <= len(finished) < 12, f"killed too early or too late: {len(finished)} stored"

    resumed = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    log = " ".join((resumed.stdout + resumed.stderr).split())
    assert f"{len(finished)} structure(s) already stored" in log
    with StoreReader(out) as store:
        assert store.keys[: len(finished)] == finished and len(store) == 12
        assert all(np.allclose(r.hamiltonian, r.hamiltonian.T, atol=1e-12) for r in store)
