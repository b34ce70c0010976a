"""Periodic records in hamkit's HDF5 store: exact round trip, version 1 files, clear errors."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import FORMAT_VERSION, StoreFormatError, StoreHeader, StoreReader, StoreWriter
from hamkit.data.store.layout import STRUCTURES
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError

from tests.data.random_records import header, random_record

SZV = OrbitalBasis.from_shells({5: [0, 1], 7: [0, 1]}, "gth-szv")
CELL = np.array([[2.5, 0.0, 0.0], [-1.25, 2.165, 0.0], [0.0, 0.0, 15.0]])
TRANSLATIONS = np.array([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [1, 1, 0], [-1, -1, 0]])


def paired_matrices(rng: np.random.Generator, translations: np.ndarray, n: int) -> np.ndarray:
    """Random (n_R, n, n) stack with M(-R) = M(R)^T exactly."""
    lookup = {tuple(r): i for i, r in enumerate(translations.tolist())}
    stack = rng.normal(size=(len(translations), n, n))
    for i, row in enumerate(translations.tolist()):
        j = lookup[tuple(-v for v in row)]
        if i < j:
            stack[j] = stack[i].T
        elif i == j:
            stack[i] = stack[i] + stack[i].T
    return stack


def periodic_record(rng: np.random.Generator, key: str, **extras) -> HamiltonianRecord:
    """A BN-shaped periodic record with random paired H(R), S(R)."""
    structure = Structure([5, 7], rng.normal(size=(2, 3)) + 7.5, cell=CELL, pbc=(True, True, False))
    overlap = 0.1 * paired_matrices(rng, TRANSLATIONS, 8)  # normalized orbitals: S_ii(0) = 1, |S| < 1
    np.fill_diagonal(overlap[0], 1.0)
    return HamiltonianRecord(structure, paired_matrices(rng, TRANSLATIONS, 8), overlap, key,
                             {"energy": float(rng.normal()), "fermi_level": -0.1, "n_electrons": 8,
                              **extras}, translations=TRANSLATIONS)


def test_periodic_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "p.h5"
    records = [periodic_record(rng, f"bn{i}") for i in range(3)]
    with StoreWriter(path, StoreHeader(SZV, {"code": "test"})) as writer:
        for record in records:
            writer.write(record)
    store = StoreReader(path)
    assert store.header.version == FORMAT_VERSION == 2
    assert store.header.units["cell"] == "angstrom" and store.header.units["fermi_level"] == "hartree"
    for original, loaded in zip(records, store):
        assert loaded.is_periodic and loaded.structure.is_periodic
        assert loaded.structure.pbc == (True, True, False)
        assert np.array_equal(loaded.structure.cell, original.structure.cell)
        assert np.array_equal(loaded.structure.positions, original.structure.positions)
        assert loaded.translations.dtype == np.int64
        assert np.array_equal(loaded.translations, original.translations)
        assert np.array_equal(loaded.hamiltonian, original.hamiltonian)
        assert np.array_equal(loaded.overlap, original.overlap)
        assert loaded.extras["fermi_level"] == -0.1 and loaded.extras["n_electrons"] == 8
        assert loaded.extras["energy"] == original.extras["energy"]
    assert store.periodicity("bn1") == ((True, True, False), len(TRANSLATIONS))


def test_molecules_and_periodic_records_share_a_store_and_version_1_files_still_read(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "v1.h5"
    with StoreWriter(path, header()) as writer:
        writer.write(random_record(rng, "water"))
    with h5py.File(path, "r+") as handle:  # what hamkit wrote before periodic records existed
        text = json.loads(handle.attrs["hamkit_header"])
        handle.attrs["hamkit_header"] = json.dumps({**text, "version": 1})
    old = StoreReader(path)
    assert old.header.version == 1 and not old[0].is_periodic and old.periodicity("water") is None
    old.close()
    mixed_basis = StoreHeader(SZV, {"code": "test"})
    with StoreWriter(path, mixed_basis) as writer:  # a periodic record upgrades the file to v2
        writer.write(periodic_record(rng, "bn"))
    store = StoreReader(path)
    assert store.header.version == 2 and [r.is_periodic for r in store] == [False, True]


def write_then_corrupt(tmp_path, edit) -> StoreReader:
    path = tmp_path / "bad.h5"
    with StoreWriter(path, StoreHeader(SZV, {"code": "test"})) as writer:
        writer.write(periodic_record(np.random.default_rng(2), "bn"))
    with h5py.File(path, "r+") as handle:
        edit(handle[STRUCTURES]["bn"])
    return StoreReader(path)


def _replace(group, name, data):
    del group[name]
    group.create_dataset(name, data=data)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda g: g.__delitem__("cell"), "translations but no cell"),
    (lambda g: _replace(g, "cell", np.zeros((3, 3))), "not three independent lattice vectors"),
    (lambda g: g.attrs.__delitem__("pbc"), "pbc None"),
    (lambda g: _replace(g, "translations", TRANSLATIONS[:-1]), "without its partner"),
    (lambda g: _replace(g, "translations", TRANSLATIONS.astype(float)), "expected \\(n, 3\\) integers"),
    (lambda g: _replace(g, "hamiltonian", np.zeros((len(TRANSLATIONS), 8, 7))), "hamiltonian of shape"),
    (lambda g: _replace(g, "overlap", np.zeros((8, 8))), "overlap of shape"),
])
def test_malformed_periodic_records_are_named_errors(tmp_path, edit, message):
    store = write_then_corrupt(tmp_path, edit)
    with pytest.raises(StoreFormatError, match=f"bad.h5: periodic record 'bn' has .*{message}"):
        store[0]


def test_cell_without_translations_is_an_error(tmp_path):
    store = write_then_corrupt(tmp_path, lambda g: g.__delitem__("translations"))
    with pytest.raises(StoreFormatError, match="record 'bn' has a cell but no translations"):
        store[0]


def test_writer_refuses_malformed_periodic_records(tmp_path):
    rng = np.random.default_rng(3)
    good = periodic_record(rng, "bn")
    unpaired = HamiltonianRecord(good.structure, good.hamiltonian[:-1], good.overlap[:-1], "half",
                                 translations=TRANSLATIONS[:-1])
    duplicated = HamiltonianRecord(good.structure, good.hamiltonian[[0, 0]], None, "twice",
                                   translations=TRANSLATIONS[[0, 0]])
    wrong_size = HamiltonianRecord(good.structure, np.zeros((len(TRANSLATIONS), 9, 9)), None, "size",
                                   translations=TRANSLATIONS)
    with StoreWriter(tmp_path / "w.h5", StoreHeader(SZV, {"code": "test"})) as writer:
        with pytest.raises(HamkitError, match="record 'half' has translation .* without its partner"):
            writer.write(unpaired)
        with pytest.raises(HamkitError, match="record 'twice' has a lattice translation listed twice"):
            writer.write(duplicated)
        with pytest.raises(HamkitError, match=r"record 'size' has hamiltonian of shape \(7, 9, 9\)"):
            writer.write(wrong_size)
        writer.write(good)
        assert writer.keys == ["bn"]
