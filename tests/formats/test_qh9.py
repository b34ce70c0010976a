"""``qh9``: QH9-stable/dynamic SQLite and LMDB files written here in the published layouts."""

from __future__ import annotations

import os
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hamkit import plugin_host

import hamkit_plugins.qh9
from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.testing.contracts import DatasetContract
from hamkit_plugins.qh9 import Qh9Config, Qh9Dataset
from hamkit_plugins.qh9 import overlap_cache as cache_module

from tests.formats.reference_match import assert_matches_reference

BOHR = 0.52917721092


# --------------------------------------------------------------------- writers (published layouts)
def qh9_rows(references, dynamic: bool, ham=None, z=None) -> list[dict]:
    """One row per reference molecule, fields as QH9 stores them (raw bytes)."""
    rows = []
    for index, ref in enumerate(references):
        positions = ref.positions / BOHR if dynamic else ref.positions
        row = {"id": 10 + index, "N": len(ref.numbers),
               "Z": (ref.numbers if z is None else z).astype(np.int32).tobytes(),
               "pos": np.ascontiguousarray(positions, dtype=np.float64).tobytes(),
               "Ham": np.ascontiguousarray(ref.fock if ham is None else ham, dtype=np.float64).tobytes()}
        if dynamic:
            row.update(geo_id=7, ekin=0.01 * index, epot=ref.energy, etot=ref.energy + 0.01,
                       time=float(index), converged=1)
        rows.append(row)
    return rows


def write_sqlite(path: Path, rows: list[dict], dynamic: bool) -> Path:
    """QH9 SQLite layout: table data(id, N, Z, pos, Ham) or the dynamic columns."""
    connection = sqlite3.connect(path)
    if dynamic:
        connection.execute("CREATE TABLE data (id INTEGER PRIMARY KEY, geo_id INTEGER, N INTEGER, "
                           "Z BLOB, pos BLOB, ekin REAL, epot REAL, etot REAL, time REAL, Ham BLOB, "
                           "converged INTEGER)")
        columns = ("id", "geo_id", "N", "Z", "pos", "ekin", "epot", "etot", "time", "Ham", "converged")
    else:
        connection.execute("CREATE TABLE data (id INTEGER PRIMARY KEY, N INTEGER, Z BLOB, pos BLOB, "
                           "Ham BLOB)")
        columns = ("id", "N", "Z", "pos", "Ham")
    placeholders = ", ".join("?" * len(columns))
    connection.executemany(f"INSERT INTO data ({', '.join(columns)}) VALUES ({placeholders})",
                           [tuple(row[c] for c in columns) for row in rows])
    connection.commit()
    connection.close()
    return path


def write_lmdb(path: Path, rows: list[dict], subdir: bool = True, qh9_names: bool = True) -> Path:
    """Processed QH9 LMDB: key = 4-byte big-endian index, value = pickled dict of the fields."""
    import lmdb

    env = lmdb.open(str(path), subdir=subdir, map_size=1 << 26)
    with env.begin(write=True) as transaction:
        for index, row in enumerate(rows):
            value = dict(row)
            if qh9_names:  # QH9's processing renames N -> num_nodes, Z -> atoms
                value["num_nodes"], value["atoms"] = value.pop("N"), value.pop("Z")
            transaction.put(index.to_bytes(4, "big"), pickle.dumps(value))
    env.close()
    return path


def open_qh9(path: Path, **options) -> Qh9Dataset:
    return Qh9Dataset(Qh9Config(path=str(path), **options))


# --------------------------------------------------------------------- reading
def test_stable_sqlite_gives_the_pyscf_matrices(tmp_path, references):
    path = write_sqlite(tmp_path / "QH9Stable.db", qh9_rows(references, dynamic=False), dynamic=False)
    dataset = open_qh9(path)
    assert dataset.variant == "stable" and len(dataset) == 2 and dataset.keys == ["id=10", "id=11"]
    assert dataset.basis.elements == (1, 6, 8)
    for record, reference in zip(dataset, references):
        assert_matches_reference(record, reference)
        np.testing.assert_array_equal(record.structure.positions, reference.positions)
    assert dataset[1].key == "11" and dataset[-1].extras == {"qh9_id": 11}


def test_dynamic_sqlite_converts_bohr_and_exposes_geo_id(tmp_path, references):
    path = write_sqlite(tmp_path / "QH9Dynamic.db", qh9_rows(references, dynamic=True), dynamic=True)
    dataset = open_qh9(path)  # variant detected from the columns
    assert dataset.variant == "dynamic"
    for record, reference in zip(dataset, references):
        assert_matches_reference(record, reference)
        np.testing.assert_allclose(record.structure.positions, reference.positions, atol=1e-12)
        assert record.extras["geo_id"] == 7 and record.extras["converged"] == 1
        assert record.extras["epot"] == reference.energy


class TestQh9DatasetContract(DatasetContract):
    @pytest.fixture(params=[False, True], ids=["stable", "dynamic"])
    def dataset(self, request, tmp_path, references):
        rows = qh9_rows(references, dynamic=request.param)
        return open_qh9(write_sqlite(tmp_path / "QH9.db", rows, dynamic=request.param))


@pytest.mark.parametrize("dynamic, subdir", [(False, True), (True, False)])
def test_lmdb_gives_the_same_records(tmp_path, references, dynamic, subdir):
    rows = qh9_rows(references, dynamic=dynamic)
    path = write_lmdb(tmp_path / ("qh9.lmdb" if subdir else "qh9.mdb"), rows, subdir=subdir)
    dataset = open_qh9(path)
    assert dataset.variant == ("dynamic" if dynamic else "stable")
    assert dataset.format_label.endswith("(LMDB)")
    for record, reference in zip(dataset, references):
        assert_matches_reference(record, reference)
        np.testing.assert_allclose(record.structure.positions, reference.positions, atol=1e-12)
    assert dataset[0].key == "10"


def test_overlap_cache_makes_the_second_read_a_file_read(tmp_path, references, monkeypatch):
    path = write_sqlite(tmp_path / "s.db", qh9_rows(references, dynamic=False), dynamic=False)
    first = open_qh9(path)
    overlaps = [record.overlap for record in first]
    assert (first.overlaps.misses, first.overlaps.hits) == (2, 0)
    folder = first.overlaps.folder
    assert folder.parent == tmp_path / "cache" / "overlaps" and folder.name.startswith("s.db-")
    assert len(list(folder.rglob("*.npy"))) == 2

    def fail(*args, **kwargs):
        raise AssertionError("PySCF called although the overlap is cached")

    monkeypatch.setattr(cache_module, "compute_overlap", fail)
    second = open_qh9(path)
    for record, overlap in zip(second, overlaps):
        np.testing.assert_array_equal(record.overlap, overlap)
    assert (second.overlaps.misses, second.overlaps.hits) == (0, 2)


def test_overlap_cache_modes_and_damaged_entries(tmp_path, references):
    path = write_sqlite(tmp_path / "s.db", qh9_rows(references[:1], dynamic=False), dynamic=False)
    beside = open_qh9(path, overlap_cache="beside")
    reference = beside[0].overlap
    assert beside.overlaps.folder == tmp_path / "s.db.hamkit-overlaps"
    (entry,) = beside.overlaps.folder.rglob("*.npy")
    entry.write_bytes(b"damaged")  # a damaged entry is recomputed and replaced
    again = open_qh9(path, overlap_cache="beside")
    np.testing.assert_array_equal(again[0].overlap, reference)
    assert again.overlaps.misses == 1 and np.load(entry).size > 0
    off = open_qh9(path, overlap_cache="off")
    np.testing.assert_array_equal(off[0].overlap, reference)
    assert off.overlaps.folder is None and not (tmp_path / "cache").exists()


def test_registered_through_the_plugin_host(tmp_path, references):
    host = plugin_host.load_plugins(extra_plugins={"qh9": hamkit_plugins.qh9},
                                    environ={"HAMKIT_PLUGINS": "qh9"})
    assert not host.problems and host.registry.names("dataset") == ["qh9"]
    record = host.registry.get("dataset", "qh9")
    path = write_sqlite(tmp_path / "s.db", qh9_rows(references, dynamic=False), dynamic=False)
    dataset = record.cls.from_config(record.config_class(path=str(path), limit=1), BuildContext())
    assert len(dataset) == 1 and dataset.species() == [1, 8]
    info = dataset.describe()
    assert info["structures"] == 1 and info["elements"] == [1, 8]
    assert info["orbitals"] == {"min": 24, "max": 24}
    assert info["provenance"]["xc"] == "b3lyp5" and info["convention"] == "canonical"


# --------------------------------------------------------------------- bad input
def test_damaged_files_are_user_errors(tmp_path, references):
    path = write_sqlite(tmp_path / "s.db", qh9_rows(references, dynamic=False), dynamic=False)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(HamkitError, match="truncated.db"):
        [record for record in open_qh9(truncated)]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(5000))
    with pytest.raises(HamkitError, match="garbage.db: cannot read it as a QH9 LMDB"):
        open_qh9(garbage)
    with pytest.raises(HamkitError, match="no such file"):
        open_qh9(tmp_path / "missing.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE data (id INTEGER, smiles TEXT)")
    other.close()
    with pytest.raises(HamkitError, match=r"other.db: table 'data' has columns \['id', 'smiles'\]"):
        open_qh9(tmp_path / "other.db")
    with pytest.raises(HamkitError, match="is a QH9-stable file .* set variant: stable"):
        open_qh9(path, variant="dynamic")


@pytest.mark.parametrize("problem, message", [
    ("size", r"record id=10: Ham has shape \(400,\) \(400 values\), but basis 'def2-svp' gives 24"),
    ("element", r"record id=10: has element Fr \(Z=87\), which basis 'def2-svp' lacks"),
    ("asymmetric", r"record id=10: Ham is not symmetric"),
    ("nan", r"record id=10: Ham contains NaN"),
    ("count", r"record id=10: N = 3 but Z holds 2 atoms"),
])
def test_bad_records_name_file_and_record(tmp_path, references, problem, message):
    ref = references[0]
    ham, z = ref.fock.copy(), None
    if problem == "size":
        ham = np.zeros((20, 20))
    elif problem == "element":
        z = np.array([87, 1, 1])
    elif problem == "asymmetric":
        ham[0, 5] += 1e-3
    elif problem == "nan":
        ham[3, 3] = np.nan
    elif problem == "count":
        z = ref.numbers[:2]
    path = write_sqlite(tmp_path / "bad.db", qh9_rows([ref], dynamic=False, ham=ham, z=z), dynamic=False)
    with pytest.raises(HamkitError, match=f"bad.db: {message}"):
        open_qh9(path)[0]


def test_bad_lmdb_values_are_refused(tmp_path, references):
    rows = qh9_rows(references[:1], dynamic=False)

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    import lmdb

    path = write_lmdb(tmp_path / "evil.lmdb", rows)
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as transaction:
        transaction.put((1).to_bytes(4, "big"), pickle.dumps({**rows[0], "x": Exploit()}))
        transaction.put((2).to_bytes(4, "big"), b"\x80\x04 not a pickle")
    env.close()
    dataset = open_qh9(path)
    assert len(dataset) == 3
    with pytest.raises(HamkitError, match=r"evil.lmdb: record index=1: cannot be unpickled "
                                          r"\(refused to unpickle global posix.system"):
        dataset[1]
    with pytest.raises(HamkitError, match=r"evil.lmdb: record index=2: cannot be unpickled"):
        dataset[2]
    plain = write_lmdb(tmp_path / "plain.lmdb", rows, qh9_names=False)
    assert open_qh9(plain)[0].key == "10"  # plain field names (N, Z) work too
    both = write_lmdb(tmp_path / "both.lmdb", qh9_rows(references, dynamic=False))
    with pytest.raises(HamkitError, match=r"both.lmdb: record id=11 \(index=1\): has element\(s\) C "
                                          r".* list them in option 'elements'"):
        open_qh9(both, elements=[1, 8])[1]


def test_truncated_lmdb_is_refused_before_any_read(tmp_path, references):
    path = write_lmdb(tmp_path / "t.lmdb", qh9_rows(references, dynamic=False))
    data_file = path / "data.mdb"
    size = data_file.stat().st_size
    with data_file.open("r+b") as handle:
        handle.truncate(size - 4096)
    with pytest.raises(HamkitError, match="t.lmdb: is truncated"):
        open_qh9(path)


# --------------------------------------------------------------------- structure-only reads
def write_layout(tmp_path: Path, references, layout: str, dynamic: bool) -> Path:
    """The two references in one QH9 layout (``sqlite``, ``lmdb``)."""
    rows = qh9_rows(references, dynamic=dynamic)
    if layout == "sqlite":
        return write_sqlite(tmp_path / "QH9.db", rows, dynamic=dynamic)
    return write_lmdb(tmp_path / "qh9.lmdb", rows)


LAYOUTS = pytest.mark.parametrize("layout, dynamic", [("sqlite", False), ("sqlite", True),
                                                      ("lmdb", False), ("lmdb", True)],
                                  ids=["sqlite-stable", "sqlite-dynamic", "lmdb-stable", "lmdb-dynamic"])


@LAYOUTS
def test_key_and_structure_equals_the_full_read(tmp_path, references, layout, dynamic):
    dataset = open_qh9(write_layout(tmp_path, references, layout, dynamic))
    assert len(dataset) == 2
    for index in [0, 1, -1, -2]:
        record = dataset[index]
        key, structure = dataset.key_and_structure(index)
        assert key == record.key
        np.testing.assert_array_equal(structure.numbers, record.structure.numbers)
        assert structure.numbers.dtype == record.structure.numbers.dtype
        np.testing.assert_array_equal(structure.positions, record.structure.positions)  # bit for bit
        assert structure.charge == record.structure.charge == 0
        assert structure.cell is None and structure.pbc == record.structure.pbc
    with pytest.raises(IndexError):
        dataset.key_and_structure(2)
    with pytest.raises(IndexError):
        dataset.key_and_structure(-3)
    limited = open_qh9(dataset.path, limit=1)
    assert limited.key_and_structure(-1)[0] == "10"
    with pytest.raises(IndexError):
        limited.key_and_structure(1)


@LAYOUTS
@pytest.mark.parametrize("target", ["decode_matrix", "check_matrix", "matrix_to_canonical", "overlap"])
def test_key_and_structure_skips_the_matrices(tmp_path, references, monkeypatch, layout, dynamic, target):
    from hamkit_plugins.qh9 import dataset as dataset_module
    from hamkit_plugins.qh9 import sources as sources_module

    dataset = open_qh9(write_layout(tmp_path, references, layout, dynamic))
    expected = [(record.key, record.structure) for record in dataset]

    def fail(*args, **kwargs):
        raise AssertionError(f"{target} called")

    owner = {"decode_matrix": sources_module, "check_matrix": dataset_module,
             "matrix_to_canonical": dataset_module, "overlap": dataset.overlaps}[target]
    monkeypatch.setattr(owner, target, fail)
    for index, (key, structure) in enumerate(expected):
        assert dataset.key_and_structure(index)[0] == key
        np.testing.assert_array_equal(dataset.key_and_structure(index)[1].positions, structure.positions)
    with pytest.raises(AssertionError, match=f"{target} called"):  # negative control: full reads do call it
        dataset[0]


def test_sqlite_structure_reads_never_select_the_hamiltonian(tmp_path, references):
    dataset = open_qh9(write_layout(tmp_path, references, "sqlite", dynamic=True))
    statements: list[str] = []
    dataset.source._connection.get().set_trace_callback(statements.append)
    sizes = [dataset.key_and_structure(index)[1].n_atoms for index in range(len(dataset))]
    assert sizes == [len(reference.numbers) for reference in references]
    assert statements and not any("Ham" in statement for statement in statements), statements
    dataset[0]
    assert "Ham" in statements[-1]  # control: the full read selects it


def test_key_and_structure_checks_the_atoms_like_the_full_read(tmp_path, references):
    ref = references[0]
    path = write_sqlite(tmp_path / "bad.db", qh9_rows([ref], dynamic=False, z=ref.numbers[:2]), dynamic=False)
    with pytest.raises(HamkitError, match=r"bad.db: record id=10: N = 3 but Z holds 2 atoms"):
        open_qh9(path).key_and_structure(0)
    ham = np.zeros((20, 20))  # a damaged matrix is found only by the full read
    path = write_sqlite(tmp_path / "ham.db", qh9_rows([ref], dynamic=False, ham=ham), dynamic=False)
    assert open_qh9(path).key_and_structure(0)[0] == "10"
    with pytest.raises(HamkitError, match=r"ham.db: record id=10: Ham has shape"):
        open_qh9(path)[0]
