"""hamkit's HDF5 store: exact round trip, interrupted writes, clear errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from hamkit.data.store import FORMAT_NAME, StoreFormatError, StoreReader, StoreWriter
from hamkit.data.store.layout import STRUCTURES
from hamkit.errors import HamkitError

from tests.data.random_records import WATER_BASIS, header, random_record


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "s.h5"
    records = [random_record(rng, f"r{i}", smiles="O", line=i) for i in range(5)]
    records.append(random_record(rng, "with_forces", forces=rng.normal(size=(3, 3))))
    with StoreWriter(path, header(xc="b3lyp")) as writer:
        for record in records:
            writer.write(record, source_id=f"id-{record.key}")
    store = StoreReader(path)
    assert len(store) == 6 and store.keys == [r.key for r in records]
    assert store.header.basis == WATER_BASIS and store.header.convention == "canonical"
    assert store.header.provenance["xc"] == "b3lyp" and store.header.format == FORMAT_NAME
    assert store.header.units["positions"] == "angstrom"
    for original, loaded in zip(records, [store[i] for i in range(6)]):
        assert loaded.key == original.key
        assert np.array_equal(loaded.structure.numbers, original.structure.numbers)
        assert np.array_equal(loaded.structure.positions, original.structure.positions)
        assert np.array_equal(loaded.hamiltonian, original.hamiltonian)
        assert np.array_equal(loaded.overlap, original.overlap)
        assert loaded.hamiltonian.dtype == np.float64
        assert loaded.extras["energy"] == original.extras["energy"]
    assert store[0].extras["smiles"] == "O" and store[2].extras["line"] == 2
    assert np.array_equal(store[-1].extras["forces"], records[-1].extras["forces"])
    assert store.source_id("r1") == "id-r1" and store.elements() == [1, 8]
    assert [r.key for r in store[1:3]] == ["r1", "r2"]
    clone = pickle.loads(pickle.dumps(store))  # handed to data-loader workers
    assert np.array_equal(clone[3].hamiltonian, records[3].hamiltonian)


def test_append_keeps_order_and_refuses_duplicates(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "s.h5"
    with StoreWriter(path, header()) as writer:
        writer.write(random_record(rng, "b"))
    with StoreWriter(path) as writer:
        writer.write(random_record(rng, "a"))
        with pytest.raises(HamkitError, match="already stored"):
            writer.write(random_record(rng, "b"))
    assert StoreReader(path).keys == ["b", "a"]


def test_group_without_completion_mark_is_ignored_then_replaced(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "s.h5"
    with StoreWriter(path, header()) as writer:
        writer.write(random_record(rng, "done"))
    with h5py.File(path, "r+") as handle:  # what a run killed mid-record leaves
        group = handle[STRUCTURES].create_group("half")
        group.create_dataset("numbers", data=np.array([8, 1, 1]))
    store = StoreReader(path)
    assert store.keys == ["done"] and store.incomplete_keys == ["half"]
    assert "half" not in store
    with pytest.raises(IndexError):
        store[1]
    store.close()
    with StoreWriter(path) as writer:
        assert writer.dropped == ["half"] and writer.keys == ["done"]
        writer.write(random_record(rng, "half"))
    assert StoreReader(path).keys == ["done", "half"]
    assert StoreReader(path).incomplete_keys == []


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import h5py
    from tests.data.random_records import header, random_record
    from hamkit.data.store import StoreWriter
    rng = np.random.default_rng(3)
    writer = StoreWriter(sys.argv[1], header())
    for i in range(4):
        writer.write(random_record(rng, f"r{i}"))
    group = writer._structures.create_group("r4")     # record 4 is being written ...
    group.create_dataset("hamiltonian", data=np.zeros((24, 24)))
    writer._handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)               # ... when the process is killed
""")


def test_killed_writer_keeps_finished_records(tmp_path, repo_root):
    path = tmp_path / "killed.h5"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=repo_root)
    assert done.returncode == -9
    store = StoreReader(path)
    assert store.keys == ["r0", "r1", "r2", "r3"] and store.incomplete_keys == ["r4"]
    assert all(np.allclose(r.hamiltonian, r.hamiltonian.T) for r in store)


def test_reader_errors_name_the_file(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(StoreFormatError, match=r"notes\.h5: not an HDF5 file"):
        StoreReader(text)
    with pytest.raises(HamkitError, match=r"missing\.h5: no such file"):
        StoreReader(tmp_path / "missing.h5")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as handle:
        handle["x"] = 1
    with pytest.raises(StoreFormatError, match=r"plain\.h5: HDF5 file but not a hamkit store"):
        StoreReader(plain)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle.attrs["hamkit_header"] = json.dumps({"format": "something-else", "version": 1})
    with pytest.raises(StoreFormatError, match=r"other\.h5: not a hamkit store"):
        StoreReader(other)
    future = tmp_path / "future.h5"
    with h5py.File(future, "w") as handle:
        handle.attrs["hamkit_header"] = json.dumps({**header().to_dict(), "version": 99})
    with pytest.raises(StoreFormatError, match="newer"):
        StoreReader(future)


def test_record_missing_a_field_is_an_error_naming_it(tmp_path):
    rng = np.random.default_rng(4)
    path = tmp_path / "s.h5"
    with StoreWriter(path, header()) as writer:
        writer.write(random_record(rng, "r0"))
    with h5py.File(path, "r+") as handle:
        del handle[STRUCTURES]["r0"]["hamiltonian"]
    with pytest.raises(StoreFormatError, match=r"s\.h5: record 'r0' lacks hamiltonian"):
        StoreReader(path)[0]


def test_writer_checks_shapes_and_elements(tmp_path):
    rng = np.random.default_rng(5)
    record = random_record(rng, "r")
    with StoreWriter(tmp_path / "s.h5", header()) as writer:
        with pytest.raises(HamkitError, match="shape"):
            writer.write(type(record)(record.structure, record.hamiltonian[:-1, :-1], None, "bad"))
        from hamkit.data.structure import Structure

        carbon = Structure([6], np.zeros((1, 3)))
        with pytest.raises(HamkitError, match=r"Z=\[6\]"):
            writer.write(type(record)(carbon, np.zeros((14, 14)), None, "c"))
        with pytest.raises(HamkitError, match="invalid structure key"):
            writer.write(type(record)(record.structure, record.hamiltonian, None, "a/b"))
    assert len(StoreReader(tmp_path / "s.h5")) == 0
