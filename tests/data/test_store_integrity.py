"""A damaged or faulty hamkit store gives a clear error naming file and record, never a traceback.

Every record :class:`StoreReader` hands out is checked like the QH9/MD17 readers check
theirs (finite, symmetric, sane H and S; valid elements, positions, charge, extras);
damaged metadata is reported; HDF5 failures (a corrupted compressed chunk, a truncated file,
a bad superblock) say the file is damaged or truncated, and only a real lock blames a lock.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hamkit.cli.main import main
from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreHeader, StoreReader, StoreWriter
from hamkit.data.store.layout import STRUCTURES
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError

from tests.data.random_records import WATER_BASIS, header
from tests.data.test_periodic_store import CELL, TRANSLATIONS, paired_matrices

EMBEDDED = Path(__file__).resolve().parents[2] / "plugins" / "datasets" / "embedded"
SZV = OrbitalBasis.from_shells({5: [0, 1], 7: [0, 1]}, "gth-szv")
N_WATER = WATER_BASIS.total_orbitals([8, 1, 1])


# --------------------------------------------------------------------- stores
def normalized_overlap(rng: np.random.Generator, n: int) -> np.ndarray:
    """Gram matrix of n random normalized vectors, shape (n, n): S_ii = 1, |S_ij| < 1."""
    vectors = rng.normal(size=(n, n + 4))
    gram = vectors @ vectors.T
    scale = 1.0 / np.sqrt(np.diag(gram))
    return gram * scale[:, None] * scale[None, :]


def water_record(rng: np.random.Generator, key: str) -> HamiltonianRecord:
    """A water-shaped record with random symmetric H (Hartree-sized) and a normalized S."""
    h = rng.normal(size=(N_WATER, N_WATER))
    return HamiltonianRecord(Structure([8, 1, 1], rng.normal(size=(3, 3)), charge=0), h + h.T,
                             normalized_overlap(rng, N_WATER), key,
                             {"energy": float(rng.normal()), "smiles": "O"})


def bn_record(rng: np.random.Generator, key: str) -> HamiltonianRecord:
    """A BN-shaped periodic record: paired H(R) and S(R), S_ii(0) = 1, |S(R)| < 1."""
    overlap = 0.1 * paired_matrices(rng, TRANSLATIONS, 8)
    np.fill_diagonal(overlap[0], 1.0)  # TRANSLATIONS[0] is R = 0
    structure = Structure([5, 7], rng.normal(size=(2, 3)) + 7.5, cell=CELL, pbc=(True, True, False))
    return HamiltonianRecord(structure, paired_matrices(rng, TRANSLATIONS, 8), overlap, key,
                             {"energy": -10.0, "fermi_level": -0.1, "n_electrons": 8},
                             translations=TRANSLATIONS)


def write_water(path: Path, count: int = 3, seed: int = 0) -> Path:
    """A gzip-compressed store of ``count`` water records r0, r1, ..."""
    rng = np.random.default_rng(seed)
    with StoreWriter(path, header()) as writer:
        for i in range(count):
            writer.write(water_record(rng, f"r{i}"))
    return path


def write_bn(path: Path) -> Path:
    """A store of two periodic records bn0, bn1."""
    rng = np.random.default_rng(1)
    with StoreWriter(path, StoreHeader(SZV, {"code": "test"})) as writer:
        for i in range(2):
            writer.write(bn_record(rng, f"bn{i}"))
    return path


def replace(group: h5py.Group, name: str, data: np.ndarray) -> None:
    """Overwrite a member of a record group."""
    del group[name]
    group.create_dataset(name, data=data)


def edited(path: Path, key: str, edit: Callable[[h5py.Group], None]) -> Path:
    """Apply ``edit`` to the group of record ``key`` in place."""
    with h5py.File(path, "r+") as handle:
        edit(handle[STRUCTURES][key])
    return path


def assert_named_error(error: BaseException, path: Path, key: str | None, *texts: str) -> str:
    """A HamkitError naming the file (and the record), the problem and what to do."""
    message = str(error)
    assert isinstance(error, HamkitError), f"{type(error).__name__}: {message}"
    assert str(path) in message, message
    if key is not None:
        assert f"record {key!r}" in message, message
    for text in texts:
        assert text in message, message
    assert any(fix in message for fix in ("regenerate", "re-download", "download")), message
    assert not blames_a_lock(message), message
    return message


def blames_a_lock(message: str) -> bool:
    """True when a message blames a lock (HDF5's own ``sblock`` and ``superblock`` do not count)."""
    return "another process" in message or re.search(r"\block(ed|ing)?\b", message, re.IGNORECASE) is not None


def read_all(path: Path) -> list[HamiltonianRecord]:
    with StoreReader(path) as store:
        return list(store)


# --------------------------------------------------------------------- negative controls
@pytest.mark.parametrize("name", ["water", "qm9_mini", "materials_2d"])
def test_embedded_stores_read_without_error(name):
    records = read_all(EMBEDDED / f"{name}.h5")
    assert records and all(np.isfinite(r.hamiltonian).all() for r in records)


def test_clean_written_stores_read_exactly(tmp_path):
    rng = np.random.default_rng(0)
    molecules = read_all(write_water(tmp_path / "w.h5"))
    assert [r.key for r in molecules] == ["r0", "r1", "r2"]
    again = water_record(rng, "r0")
    assert np.array_equal(molecules[0].hamiltonian, again.hamiltonian)
    assert molecules[0].extras == {"smiles": "O", "energy": again.extras["energy"]}
    crystals = read_all(write_bn(tmp_path / "bn.h5"))
    assert [r.is_periodic for r in crystals] == [True, True]
    assert crystals[0].structure.pbc == (True, True, False)


def test_aliased_periodic_overlap_is_accepted(tmp_path):
    """S(R) from a coarse k-mesh folds distant cells into S(0): S_ii(0) != 1 is real data."""
    path = write_bn(tmp_path / "coarse.h5")
    with h5py.File(path, "r+") as handle:
        overlap = handle[STRUCTURES]["bn0"]["overlap"][()]
        overlap[0][np.diag_indices(8)] = 0.97  # graphene, 2x2x1 mesh: 0.9718
        replace(handle[STRUCTURES]["bn0"], "overlap", overlap)
    assert read_all(path)[0].overlap[0, 0, 0] == 0.97


# --------------------------------------------------------------------- molecular values
def _set(name: str, index: tuple, value: float) -> Callable[[h5py.Group], None]:
    def edit(group: h5py.Group) -> None:
        data = group[name][()]
        data[index] = value
        replace(group, name, data)
    return edit


def _scale(name: str, factor: float) -> Callable[[h5py.Group], None]:
    return lambda group: replace(group, name, group[name][()] * factor)


def _symmetric(name: str, i: int, j: int, value: float) -> Callable[[h5py.Group], None]:
    def edit(group: h5py.Group) -> None:
        data = group[name][()]
        data[i, j] = data[j, i] = value
        replace(group, name, data)
    return edit


def _numbers(*values: float) -> Callable[[h5py.Group], None]:
    return lambda group: replace(group, "numbers", np.array(values))


def _attribute(name: str, value) -> Callable[[h5py.Group], None]:
    def edit(group: h5py.Group) -> None:
        group.attrs[name] = value
    return edit


MOLECULE_CASES = {
    "nan_in_H": (_set("hamiltonian", (2, 3), np.nan), "hamiltonian contains NaN or infinite values"),
    "inf_in_S": (_set("overlap", (4, 4), np.inf), "overlap contains NaN or infinite values"),
    "nan_in_positions": (_set("positions", (1, 2), np.nan), "NaN or infinite positions"),
    "inf_in_positions": (_set("positions", (0, 0), -np.inf), "NaN or infinite positions"),
    "asymmetric_H": (_set("hamiltonian", (0, 5), 3.0), "hamiltonian is not symmetric"),
    "asymmetric_S": (_set("overlap", (7, 1), 0.5), "overlap is not symmetric"),
    "absurd_H": (_scale("hamiltonian", 1e6), "more than the 1e+05 Hartree"),
    "S_diagonal_not_1": (_symmetric("overlap", 3, 3, 2.0), "S_ii = 2"),
    "S_above_1": (_symmetric("overlap", 2, 9, 1.5), "|S_ij| = 1.5"),
    "Z_zero": (_numbers(0, 1, 1), "atomic number(s) [0], which are not elements"),
    "Z_negative": (_numbers(8, -1, 1), "[-1], which are not elements"),
    "Z_above_118": (_numbers(8, 1, 119), "[119], which are not elements"),
    "Z_not_in_basis": (_numbers(6, 1, 1), "basis 'def2-svp' does not cover"),
    "Z_not_integer": (_numbers(8.0, 1.5, 1.0), "are not integers"),
    "numbers_2d": (lambda g: replace(g, "numbers", np.array([[8, 1, 1]])), "expected (n_atoms,)"),
    "positions_flat": (lambda g: replace(g, "positions", np.zeros(9)),
                       "positions have shape (9,), expected (3, 3)"),
    "positions_n_by_2": (lambda g: replace(g, "positions", np.zeros((3, 2))), "expected (3, 3)"),
    "positions_text": (lambda g: replace(g, "positions", np.array([b"x", b"y", b"z"])), "expected numbers"),
    "H_as_text": (lambda g: replace(g, "hamiltonian", np.full((N_WATER, N_WATER), b"0")), "expected numbers"),
    "H_wrong_size": (lambda g: replace(g, "hamiltonian", np.zeros((5, 5))), "the basis gives 24 orbitals"),
    "charge_fraction": (_attribute("charge", 0.5), "charge is 0.5, not an integer"),
    "charge_text": (_attribute("charge", "neutral"), "not an integer"),
    "energy_text": (_attribute("energy", "low"), "energy is 'low', not a finite number"),
    "energy_nan": (_attribute("energy", np.nan), "not a finite number"),
    "extras_not_json": (_attribute("extras", '{"smiles": "O"'), "attribute 'extras' is not valid JSON"),
    "extras_not_object": (_attribute("extras", "[1, 2]"), "is a JSON list, expected an object"),
    "hamiltonian_missing": (lambda g: g.__delitem__("hamiltonian"), "lacks hamiltonian"),
    "positions_missing": (lambda g: g.__delitem__("positions"), "lacks positions"),
}


@pytest.mark.parametrize("case", list(MOLECULE_CASES))
def test_bad_molecular_record_is_a_named_error(tmp_path, case):
    edit, text = MOLECULE_CASES[case]
    path = edited(write_water(tmp_path / "bad.h5"), "r1", edit)
    with StoreReader(path) as store:
        assert store.get("r0").key == "r0" and store.get("r2").key == "r2"  # the others still read
        with pytest.raises(Exception) as caught:
            store.get("r1")
        assert_named_error(caught.value, path, "r1", text)
        with pytest.raises(HamkitError):
            list(store)  # iteration (training) stops at the bad record instead of skipping it


# --------------------------------------------------------------------- periodic values
def _symmetric_home(name: str, i: int, j: int, value: float) -> Callable[[h5py.Group], None]:
    """Set M_ij(0) = M_ji(0) = value (R = 0 is position 0; pairing kept)."""
    def edit(group: h5py.Group) -> None:
        data = group[name][()]
        data[0, i, j] = data[0, j, i] = value
        replace(group, name, data)
    return edit


def _drop_home(group: h5py.Group) -> None:
    """Remove R = 0 (position 0) from translations and both stacks (pairs stay closed)."""
    for name in ("translations", "hamiltonian", "overlap"):
        replace(group, name, group[name][()][1:])


PERIODIC_CASES = {
    "nan_in_H_of_R": (_set("hamiltonian", (3, 1, 2), np.nan), "hamiltonian contains NaN"),
    "unpaired_H": (_set("hamiltonian", (1, 0, 3), 5.0), "breaks M(-R) = M(R)^T at R = "),
    "unpaired_S": (_set("overlap", (4, 2, 6), 0.9), "overlap breaks M(-R) = M(R)^T"),
    "S0_diagonal_negative": (_set("overlap", (0, 5, 5), -0.5), "S_ii = -0.5 at orbital 5"),
    "S_above_diagonal": (_symmetric_home("overlap", 1, 6, 3.0),
                         "|S_ij(R)| = 3, above the largest S_ii(0) = 1"),
    "absurd_H_of_R": (_scale("hamiltonian", 1e7), "more than the 1e+05 Hartree"),
    "nan_cell": (_set("cell", (1, 1), np.nan), "cell contains NaN or infinite values"),
    "nan_positions": (_set("positions", (0, 0), np.inf), "NaN or infinite positions"),
    "no_home_cell": (_drop_home, "has no R = (0, 0, 0) lattice translation"),
    "Z_not_in_basis": (lambda g: replace(g, "numbers", np.array([5, 6])), "does not cover"),
    "positions_wrong_shape": (lambda g: replace(g, "positions", np.zeros((3, 3))), "expected (2, 3)"),
}


@pytest.mark.parametrize("case", list(PERIODIC_CASES))
def test_bad_periodic_record_is_a_named_error(tmp_path, case):
    edit, text = PERIODIC_CASES[case]
    path = edited(write_bn(tmp_path / "bad.h5"), "bn1", edit)
    with StoreReader(path) as store:
        assert store.get("bn0").is_periodic
        with pytest.raises(Exception) as caught:
            store.get("bn1")
    assert_named_error(caught.value, path, "bn1", text)


# --------------------------------------------------------------------- damaged metadata
@pytest.mark.parametrize(("mark", "text"), [
    ("yes", "its completion mark is 'yes', expected True"),
    (np.array([1, 2]), "its completion mark is array([1, 2]), expected True"),
    (7, "its completion mark is 7"),
])
def test_damaged_completion_mark_is_reported_not_skipped(tmp_path, mark, text):
    path = edited(write_water(tmp_path / "bad.h5"), "r1", _attribute("complete", mark))
    with StoreReader(path) as store:
        assert store.keys == ["r0", "r1", "r2"] and list(store.damaged_keys) == ["r1"]
        assert store.incomplete_keys == []
        with pytest.raises(Exception) as caught:
            store[1]
    assert_named_error(caught.value, path, "r1", text, "metadata is damaged")


def test_an_entry_that_is_not_a_group_is_reported(tmp_path):
    path = write_water(tmp_path / "bad.h5", count=2)
    with h5py.File(path, "r+") as handle:
        handle[STRUCTURES].create_dataset("stray", data=np.zeros(3))
    with StoreReader(path) as store:
        assert store.keys == ["r0", "r1", "stray"] and "stray" in store.damaged_keys
        with pytest.raises(Exception) as caught:
            store.get("stray")
    assert_named_error(caught.value, path, "stray", "is a dataset, not a group")
    with StoreWriter(path) as writer:  # a writer replaces it, like an interrupted record
        assert writer.dropped == ["stray"] and writer.keys == ["r0", "r1"]


def test_interrupted_records_stay_hidden(tmp_path):
    path = write_water(tmp_path / "s.h5", count=2)
    with h5py.File(path, "r+") as handle:
        handle[STRUCTURES].create_group("half").create_dataset("numbers", data=np.array([8, 1, 1]))
    with StoreReader(path) as store:
        assert store.keys == ["r0", "r1"] and store.incomplete_keys == ["half"] and not store.damaged_keys


# --------------------------------------------------------------------- HDF5 damage
def chunk_span(path: Path, key: str, name: str) -> tuple[int, int]:
    """File offset and size of the (single) compressed chunk of a record's matrix."""
    with h5py.File(path, "r") as handle:
        dataset = handle[STRUCTURES][key][name]
        assert dataset.compression == "gzip"
        info = dataset.id.get_chunk_info(0)
        return info.byte_offset, info.size


def flip(path: Path, offset: int, count: int = 4) -> None:
    with open(path, "r+b") as stream:
        stream.seek(offset)
        data = stream.read(count)
        stream.seek(offset)
        stream.write(bytes(b ^ 0xFF for b in data))


@pytest.mark.parametrize("name", ["hamiltonian", "overlap"])
def test_corrupted_compressed_chunk_names_file_and_record(tmp_path, name):
    path = write_water(tmp_path / "chunk.h5")
    offset, size = chunk_span(path, "r1", name)
    flip(path, offset + size // 2)
    with StoreReader(path) as store:
        assert store.get("r0").key == "r0" and store.get("r2").key == "r2"
        with pytest.raises(Exception) as caught:
            store.get("r1")
    assert_named_error(caught.value, path, "r1", "the file is damaged or truncated", "filter")


def test_truncated_file_says_truncated_not_locked(tmp_path):
    original = write_water(tmp_path / "full.h5")
    size = original.stat().st_size
    for cut in (100, 1000, size // 3, size // 2, size - 1):
        path = tmp_path / f"cut{cut}.h5"
        shutil.copy(original, path)
        os.truncate(path, cut)
        with pytest.raises(Exception) as caught:
            read_all(path)
        assert_named_error(caught.value, path, None,
                           f"the file is truncated or damaged: it has {cut} bytes, its HDF5 header "
                           f"declares {size}")


@pytest.mark.parametrize("offset", [8, 20, 40])
def test_bad_superblock_says_damaged(tmp_path, offset):
    path = write_water(tmp_path / "sb.h5")
    flip(path, offset)
    with pytest.raises(Exception) as caught:
        read_all(path)
    assert_named_error(caught.value, path, None, "the file is ")


HOLD_OPEN = ("import h5py, sys, time; f = h5py.File(sys.argv[1], 'r+'); print('open', flush=True); "
             "time.sleep(60)")


def test_a_file_open_for_writing_elsewhere_still_blames_the_lock(tmp_path):
    path = write_water(tmp_path / "busy.h5", count=1)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(HamkitError, match="another process has it open for writing"):
            StoreReader(path)
    finally:
        holder.kill()
        holder.wait()


# --------------------------------------------------------------------- command line
def run_info(capsys, path: Path) -> tuple[int, str]:
    code = main(["data", "info", str(path)])
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


def test_data_info_on_damaged_stores_exits_2_without_traceback(tmp_path, capsys):
    truncated = write_water(tmp_path / "t.h5")
    os.truncate(truncated, truncated.stat().st_size // 2)
    code, err = run_info(capsys, truncated)
    assert code == 2 and "t.h5: the file is truncated or damaged" in err
    bad_element = edited(write_water(tmp_path / "z.h5"), "r2", _numbers(0, 1, 1))
    code, err = run_info(capsys, bad_element)
    assert code == 2 and "z.h5: record 'r2': has atomic number(s) [0]" in err
    bad_mark = edited(write_water(tmp_path / "m.h5"), "r0", _attribute("complete", "yes"))
    code, err = run_info(capsys, bad_mark)
    assert code == 2 and "m.h5: record 'r0': its completion mark is 'yes'" in err
    assert main(["data", "info", str(write_water(tmp_path / "ok.h5"))]) == 0


# --------------------------------------------------------------------- fuzzing
_COUNTER = itertools.count()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, bytes, list[tuple[int, int]]]:
    """A small store, its bytes, and the (offset, size) of every dataset's raw data.

    Flips stay inside raw data (compressed chunks, contiguous arrays): flipped HDF5
    *metadata* can crash the HDF5 C library itself (a segfault no Python code can catch).
    """
    folder = tmp_path_factory.mktemp("fuzz")
    path = write_water(folder / "pristine.h5")
    spans = []
    with h5py.File(path, "r") as handle:
        for group in handle[STRUCTURES].values():
            for dataset in group.values():
                if dataset.chunks:
                    info = dataset.id.get_chunk_info(0)
                    spans.append((info.byte_offset, info.size))
                else:
                    spans.append((dataset.id.get_offset(), dataset.id.get_storage_size()))
    return folder, path.read_bytes(), spans


def _read_or_named_error(path: Path) -> None:
    """Read every record: success or a HamkitError naming the file; nothing else."""
    try:
        with StoreReader(path) as store:
            for key in store.keys:
                try:
                    record = store.get(key)
                except HamkitError as error:
                    assert str(path) in str(error) and repr(key) in str(error), str(error)
                    event(f"record error: {type(error).__name__}")
                else:
                    assert np.isfinite(record.hamiltonian).all()
                    event("record read")
    except HamkitError as error:
        assert str(path) in str(error) and not blames_a_lock(str(error))
        event("file error")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_flips_in_data_give_a_named_error_or_a_checked_read(pristine, data):
    folder, content, spans = pristine
    damaged = bytearray(content)
    for _ in range(data.draw(st.integers(1, 3), label="flips")):
        offset, size = data.draw(st.sampled_from(spans), label="dataset")
        position = offset + data.draw(st.integers(0, size - 1), label="byte")
        damaged[position] ^= data.draw(st.integers(1, 255), label="mask")
    path = folder / f"flip{next(_COUNTER)}.h5"
    path.write_bytes(bytes(damaged))
    _read_or_named_error(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(0.0, 0.9999))
def test_random_truncations_give_a_named_error(pristine, fraction):
    folder, content, _ = pristine
    path = folder / f"cut{next(_COUNTER)}.h5"
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(HamkitError) as caught:
        read_all(path)
    assert str(path) in str(caught.value) and not blames_a_lock(str(caught.value))
