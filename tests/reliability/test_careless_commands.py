"""Careless command lines against a trained run and hostile files: exit 2, a message, no traceback,
no output file left behind, and the inputs unchanged."""

from __future__ import annotations

import shlex
import uuid
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hamkit.data.store import StoreHeader, StoreWriter
from hamkit_plugins.datasets.hamkit_store import open_dataset

from tests.reliability.conftest import run_cli, snapshot

FILES = {
    "water.xyz": "3\n\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n",
    "coincident.xyz": "3\n\nO 0 0 0\nH 0 0 0\nH 0 0 1\n",
    "nan.xyz": "3\n\nO 0 0 nan\nH 0 0.7 0\nH 0 -0.7 0\n",
    "unknown_element.xyz": "1\n\nXx 0 0 0\n",
    "binary.xyz": "garbage\x00\xff",
    "empty.h5": "",
}

COMMANDS = [
    "eval {run} --data missing.h5 --from hamkit",
    "eval {run} --data empty.h5 --from hamkit",
    "eval {run} --data water.xyz --from hamkit",
    "eval missing_run",
    "predict {run} water.xyz --out out.txt",
    "predict {run} binary.xyz --out out.npz",
    "predict {run} unknown_element.xyz --out out.npz",
    "predict {run} nan.xyz --out out.npz",
    "predict {run} coincident.xyz --out out.npz",
    "predict {run} water.xyz --out out.npz --charge 99",
    "predict {run} empty.h5 --out out.npz",
    "scf {run} water.xyz --xc nosuchxc",
    "scf {run} water.xyz --max-cycle 0",
    "scf {run} water.xyz --conv-tol -1",
    "scf {run} coincident.xyz",
    "bands {run} --out out_bands",
    "bands {run} water.xyz --out out_bands",
    "data info missing.h5",
    "data info empty.h5",
    "data info water.xyz --from md17",
    "data info water.xyz --from qh9",
    "data convert empty.h5 --from hamkit --out out.h5",
    "data convert embedded:water --from hamkit --out out.h5 --limit 0",
    "data generate --preset water --count 0 --out out.h5",
    "data generate --xyz nan.xyz --out out.h5",
    "data generate --xyz coincident.xyz --out out.h5",
    "data generate --xyz binary.xyz --out out.h5",
    "data generate --xyz water.xyz --basis nosuchbasis --out out.h5",
    "data generate --xyz water.xyz --workers 0 --out out.h5",
    "ablate water.xyz",
    "recipe validate binary.xyz",
    "train --resume missing_run",
    "train water.xyz --out out_run",
]


@pytest.fixture
def workspace(tmp_path, monkeypatch, trained_run):
    for name, text in FILES.items():
        (tmp_path / name).write_bytes(text.encode("latin-1"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _outputs(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("out") or p.name.startswith("."))


@pytest.mark.parametrize("command", COMMANDS)
def test_careless_command_is_a_clear_error(workspace, trained_run, capsys, command):
    before = snapshot(workspace)
    run_before = snapshot(trained_run)
    status, _, err = run_cli(capsys, *shlex.split(command.format(run=trained_run)))
    assert status == 2, err
    assert err.startswith("error: ") or "usage:" in err, err
    assert _outputs(workspace) == [], "an output was left behind"
    assert snapshot(workspace) == before
    assert {k: v for k, v in snapshot(trained_run).items() if k != ".lock"} == \
        {k: v for k, v in run_before.items() if k != ".lock"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.floats(0.0, 1.0), length=st.integers(1, 64), seed=st.integers(0, 255))
def test_random_damage_to_a_checkpoint_never_crashes_predict(run_copy, tmp_path, capsys, offset, length, seed):
    case = uuid.uuid4().hex  # hypothesis may replay an example: every try gets its own folder
    run = run_copy(f"run-{case}")
    for checkpoint in (run / "checkpoints").iterdir():
        data = bytearray(checkpoint.read_bytes())
        start = int(offset * (len(data) - length))
        data[start:start + length] = bytes((b + seed + 1) % 256 for b in data[start:start + length])
        checkpoint.write_bytes(bytes(data))
    xyz = tmp_path / "water.xyz"
    xyz.write_text(FILES["water.xyz"])
    out = tmp_path / f"p-{case}.npz"
    status, _, err = run_cli(capsys, "predict", str(run), str(xyz), "--out", str(out))
    assert status in (0, 2), err
    assert out.exists() == (status == 0)
    if status == 2:
        assert "checkpoint" in err or "corrupt" in err, err


def test_eval_on_a_store_with_coincident_atoms_names_the_record(trained_run, tmp_path, capsys):
    water = open_dataset("embedded:water")
    record = water[0]
    positions = record.structure.positions.copy()
    positions[2] = positions[1]
    bad = replace(record, structure=replace(record.structure, positions=positions), key="squashed")
    path = tmp_path / "bad.h5"
    with StoreWriter(path, StoreHeader(water.basis, {"note": "test"})) as writer:
        writer.write(bad)
    status, _, err = run_cli(capsys, "eval", str(trained_run), "--data", str(path), "--from", "hamkit")
    assert status == 2 and "record squashed" in err and "atom 2 (H) and atom 3 (H)" in err, err
