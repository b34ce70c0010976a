"""``deeph`` periodic folders: H(R), S(R), cell and pbc; writer round trips; bad files.

No PySCF here: the records are random but valid (H(-R) = H(R)^T), with s, p and d shells,
so every test runs in well under a second.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest

import hamkit_plugins.deeph.writer as deeph_writer
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError
from hamkit.physics.bloch import bloch_matrices
from hamkit_plugins.deeph import HARTREE_EV, DeepHConfig, DeepHDataset, write_deeph_folder

SHELLS = {14: (0, 1, 2), 8: (0, 0, 1), 1: (0,)}  # Si: s p d (9), O: s s p (5), H: s (1)
NUMBERS = np.array([14, 8, 1])
POSITIONS = np.array([[0.1, 0.2, 10.0], [1.7, 0.9, 10.4], [0.8, 2.1, 9.3]])
CELL = np.array([[3.1, 0.0, 0.0], [-1.4, 2.9, 0.0], [0.0, 0.3, 20.0]])  # rows; vacuum along a3
HALF = [(1, 0, 0), (0, 1, 0), (1, -1, 0)]  # with their negatives and (0, 0, 0): 7 translations
SORTED = [(0, 0, 0), (-1, 0, 0), (-1, 1, 0), (0, -1, 0), (0, 1, 0), (1, -1, 0), (1, 0, 0)]
FERMI_HARTREE = -0.173

# One shell's functions, named: canonical order (m = -l..l, p = py pz px) and OpenMX order.
CANONICAL_NAMES = {0: ["s"], 1: ["py", "pz", "px"], 2: ["dxy", "dyz", "dz2", "dxz", "dx2-y2"]}
OPENMX_NAMES = {0: ["s"], 1: ["px", "py", "pz"], 2: ["dz2", "dx2-y2", "dxy", "dxz", "dyz"]}


@pytest.fixture
def basis() -> OrbitalBasis:
    return OrbitalBasis.from_shells(SHELLS, "test spd")


def random_pairs(rng: np.random.Generator, n: int, diagonal: float) -> dict[tuple[int, int, int], np.ndarray]:
    """Random M(R) with M(-R) = M(R)^T and M(0) symmetric (+ diagonal * I)."""
    home = rng.normal(size=(n, n))
    matrices = {(0, 0, 0): home + home.T + diagonal * np.eye(n)}
    for translation in HALF:
        matrices[translation] = 0.3 * rng.normal(size=(n, n))
        matrices[tuple(-v for v in translation)] = matrices[translation].T
    return matrices


def periodic_record(basis: OrbitalBasis, seed: int = 0) -> HamiltonianRecord:
    """3 atoms, 15 orbitals, 7 translations in the reader's order; atoms 1 and 3 never couple
    across (1, -1, 0) (those blocks must not be written)."""
    rng = np.random.default_rng(seed)
    n = basis.total_orbitals(NUMBERS)
    h, s = random_pairs(rng, n, 0.0), random_pairs(rng, n, 6.0)
    offsets = basis.atom_orbital_offsets(NUMBERS)
    silicon, hydrogen = slice(offsets[0], offsets[1]), slice(offsets[2], offsets[3])
    for matrices in (h, s):
        matrices[(1, -1, 0)][silicon, hydrogen] = matrices[(-1, 1, 0)][hydrogen, silicon] = 0.0
    return HamiltonianRecord(
        Structure(NUMBERS, POSITIONS, cell=CELL, pbc=(True, True, False)),
        np.stack([h[t] for t in SORTED]), np.stack([s[t] for t in SORTED]), key="slab",
        extras={"fermi_level": FERMI_HARTREE}, translations=np.array(SORTED))


def open_deeph(path: Path) -> DeepHDataset:
    return DeepHDataset(DeepHConfig(path=str(path)))


def read_quietly(path: Path) -> HamiltonianRecord:
    """The one record of a folder; any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return open_deeph(path)[0]


# --------------------------------------------------------------------- (a) round trip
def test_writer_reader_round_trip_is_identical(tmp_path, basis):
    record = periodic_record(basis)
    folder = write_deeph_folder(record, tmp_path / "slab", basis)
    back = read_quietly(folder)
    assert back.is_periodic and back.key == "slab"
    np.testing.assert_array_equal(back.structure.numbers, NUMBERS)
    np.testing.assert_array_equal(back.structure.positions, POSITIONS)
    np.testing.assert_array_equal(back.structure.cell, CELL)
    assert back.structure.pbc == (True, True, False)
    np.testing.assert_array_equal(back.translations, record.translations)
    assert back.translations.dtype == np.int64
    scale = np.abs(record.hamiltonian).max()
    np.testing.assert_allclose(back.hamiltonian, record.hamiltonian, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_array_equal(back.overlap, record.overlap)  # no unit conversion: exact
    assert back.extras["fermi_level"] == pytest.approx(FERMI_HARTREE, rel=1e-12)
    assert "lattice" not in back.extras and "deeph_filled_blocks" not in back.extras


def test_writer_layout_sparse_keys_columns_and_ev(tmp_path, basis):
    record = periodic_record(basis)
    folder = write_deeph_folder(record, tmp_path / "slab", basis)
    with h5py.File(folder / "hamiltonians.h5") as h_file, h5py.File(folder / "overlaps.h5") as s_file:
        assert sorted(h_file.keys()) == sorted(s_file.keys())
        assert len(h_file) == 7 * 9 - 2
        assert "[1, -1, 0, 1, 3]" not in h_file and "[-1, 1, 0, 3, 1]" not in h_file  # zero blocks
        assert "[1, -1, 0, 3, 1]" in h_file
        home = record.hamiltonian[0]
        assert h_file["[0, 0, 0, 3, 3]"][()] == pytest.approx(home[-1:, -1:] * HARTREE_EV, rel=1e-15)
    np.testing.assert_array_equal(np.loadtxt(folder / "lat.dat"), CELL.T)  # vectors as columns
    np.testing.assert_allclose(np.loadtxt(folder / "lat.dat").T @ np.loadtxt(folder / "rlat.dat"),
                               2 * np.pi * np.eye(3), atol=1e-12)
    info = json.loads((folder / "info.json").read_text())
    assert info == {"isspinful": False, "fermi_level": pytest.approx(FERMI_HARTREE * HARTREE_EV)}
    assert (folder / "orbital_types.dat").read_text() == "0 1 2\n0 0 1\n0\n"


def test_writer_leaves_nothing_on_failure(tmp_path, basis, monkeypatch):
    record = periodic_record(basis)

    def fail_after_writing(folder: Path, blocks) -> None:
        original(folder, blocks)
        raise RuntimeError("disk full")

    original = deeph_writer._write_matrices
    monkeypatch.setattr(deeph_writer, "_write_matrices", fail_after_writing)
    with pytest.raises(RuntimeError, match="disk full"):
        write_deeph_folder(record, tmp_path / "slab", basis)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()  # negative control: the same call without the failure leaves the folder
    write_deeph_folder(record, tmp_path / "slab", basis)
    assert [entry.name for entry in tmp_path.iterdir()] == ["slab"]


def test_writer_refuses_bad_records(tmp_path, basis):
    record = periodic_record(basis)
    half = HamiltonianRecord(record.structure, record.hamiltonian[:5], record.overlap[:5],
                             key="half", translations=record.translations[:5])
    with pytest.raises(HamkitError, match=r"record 'half' has translation \[-1, 0, 0\] without \[1, 0, 0\]"):
        write_deeph_folder(half, tmp_path / "half", basis)
    with pytest.raises(HamkitError, match="is periodic: its cell is structure.cell"):
        write_deeph_folder(record, tmp_path / "cell", basis, lattice=np.eye(3))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- (b) published layout
def openmx_positions(ls: tuple[int, ...]) -> list[int]:
    """For each OpenMX function of one atom, its position in the canonical order."""
    canonical, openmx = [], []
    for shell, l in enumerate(ls):
        canonical += [(shell, name) for name in CANONICAL_NAMES[l]]
        openmx += [(shell, name) for name in OPENMX_NAMES[l]]
    return [canonical.index(function) for function in openmx]


def write_published_periodic(folder: Path, blocks: dict[tuple[int, int, int, int, int], np.ndarray],
                             overlap_scale: float = 1.0, info: dict | None = None) -> Path:
    """Si (s p d) + H (s), lattice as columns, 1-based keys, OpenMX order, eV, by hand.

    ``blocks``: canonical-order Hartree blocks keyed (Rx, Ry, Rz, i, j), 1-based atoms; the
    overlap files get ``overlap_scale`` times the same blocks (no eV).
    """
    folder.mkdir(parents=True)
    np.savetxt(folder / "element.dat", [14, 1], fmt="%d")
    np.savetxt(folder / "site_positions.dat", POSITIONS[[0, 2]].T)
    np.savetxt(folder / "lat.dat", CELL.T)
    (folder / "orbital_types.dat").write_text("0 1 2\n0\n")
    (folder / "info.json").write_text(json.dumps(info or {"isspinful": False, "fermi_level": -2.5}))
    order = {1: openmx_positions((0, 1, 2)), 2: openmx_positions((0,))}
    with h5py.File(folder / "hamiltonians.h5", "w") as h_file, h5py.File(folder / "overlaps.h5", "w") as s_file:
        for (rx, ry, rz, i, j), block in blocks.items():
            openmx = block[np.ix_(order[i], order[j])]
            h_file[f"[{rx}, {ry}, {rz}, {i}, {j}]"] = openmx * HARTREE_EV
            s_file[f"[{rx}, {ry}, {rz}, {i}, {j}]"] = openmx * overlap_scale
    return folder


def published_blocks(seed: int = 1) -> dict[tuple[int, int, int, int, int], np.ndarray]:
    """Hermitian-paired canonical blocks across R = +-(1, 0, 0) and +-(0, 0, 1)."""
    rng = np.random.default_rng(seed)
    size = {1: 9, 2: 1}
    blocks = {}
    for i, j in ((1, 1), (1, 2), (2, 2)):
        home = rng.normal(size=(size[i], size[j]))
        blocks[(0, 0, 0, i, j)] = (home + home.T) if i == j else home
        blocks[(0, 0, 0, j, i)] = blocks[(0, 0, 0, i, j)].T
    for rx, rz in ((1, 0), (0, 1)):
        for i, j in ((1, 1), (1, 2), (2, 1)):
            blocks[(rx, 0, rz, i, j)] = rng.normal(size=(size[i], size[j]))
            blocks[(-rx, 0, -rz, j, i)] = blocks[(rx, 0, rz, i, j)].T
    return blocks


def expected_matrices(blocks: dict, translations: list[tuple[int, int, int]]) -> np.ndarray:
    offsets = {1: slice(0, 9), 2: slice(9, 10)}
    matrices = np.zeros((len(translations), 10, 10))
    for (rx, ry, rz, i, j), block in blocks.items():
        matrices[translations.index((rx, ry, rz)), offsets[i], offsets[j]] = block
    return matrices


def test_published_folder_reads_to_canonical_hartree(tmp_path):
    blocks = published_blocks()
    folder = write_published_periodic(tmp_path / "c", blocks, overlap_scale=0.5)
    record = read_quietly(folder)
    translations = [(0, 0, 0), (-1, 0, 0), (0, 0, -1), (0, 0, 1), (1, 0, 0)]
    np.testing.assert_array_equal(record.translations, translations)
    assert record.structure.pbc == (True, False, True)
    np.testing.assert_array_equal(record.structure.cell, CELL)
    np.testing.assert_allclose(record.structure.positions, POSITIONS[[0, 2]], atol=1e-15)
    expected = expected_matrices(blocks, translations)
    np.testing.assert_allclose(record.hamiltonian, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(record.overlap, 0.5 * expected, rtol=1e-13, atol=1e-13)
    assert record.extras["fermi_level"] == pytest.approx(-2.5 / HARTREE_EV)
    # Negative control: the d (and p) reordering is not the identity on these blocks.
    in_file_order = expected[:, openmx_positions((0, 1, 2)) + [9]][:, :, openmx_positions((0, 1, 2)) + [9]]
    assert np.abs(in_file_order - expected).max() > 0.1


# --------------------------------------------------------------------- (c) Bloch sums
def test_bloch_sums_of_read_records_are_hermitian(tmp_path, basis):
    records = [read_quietly(write_deeph_folder(periodic_record(basis), tmp_path / "a", basis)),
               read_quietly(write_published_periodic(tmp_path / "b", published_blocks()))]
    kpoints = np.random.default_rng(2).uniform(-0.5, 0.5, size=(6, 3))
    for record in records:
        for matrices in (record.hamiltonian, record.overlap):
            bloch = bloch_matrices(record.translations, matrices, kpoints)
            np.testing.assert_allclose(bloch, bloch.conj().transpose(0, 2, 1), atol=1e-12)
            assert np.abs(bloch.imag).max() > 1e-3  # k really is off Gamma
    # Negative control: pairing H(-R) with H(R) instead of H(R)^T breaks Hermiticity.
    record = records[0]
    lookup = record.translation_lookup()
    unpaired = record.hamiltonian.copy()
    unpaired[lookup[(-1, 0, 0)]] = unpaired[lookup[(1, 0, 0)]]
    bloch = bloch_matrices(record.translations, unpaired, kpoints)
    assert np.abs(bloch - bloch.conj().transpose(0, 2, 1)).max() > 1e-3


# --------------------------------------------------------------------- (d) partners and bad files
def _delete(folder: Path, name: str, key: str) -> None:
    with h5py.File(folder / name, "a") as handle:
        del handle[key]


def _replace(folder: Path, name: str, key: str, value: np.ndarray) -> None:
    _delete(folder, name, key)
    with h5py.File(folder / name, "a") as handle:
        handle[key] = value


def test_missing_partner_is_filled_with_the_transpose_and_said(tmp_path, basis):
    record = periodic_record(basis)
    folder = write_deeph_folder(record, tmp_path / "half", basis)
    _delete(folder, "hamiltonians.h5", "[-1, 0, 0, 2, 1]")
    _delete(folder, "overlaps.h5", "[-1, 0, 0, 2, 1]")
    dataset = open_deeph(folder)
    with pytest.warns(UserWarning, match=r"half: hamiltonians.h5 lacks the Hermitian partner of 1 block\(s\) "
                                         r"\(first: \[-1, 0, 0, 2, 1\]\); filled with the transpose of "
                                         r"\[1, 0, 0, 1, 2\]"):
        back = dataset[0]
    assert back.extras["deeph_filled_blocks"] == 2
    scale = np.abs(record.hamiltonian).max()
    np.testing.assert_allclose(back.hamiltonian, record.hamiltonian, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_array_equal(back.overlap, record.overlap)
    assert any("filled with its transpose" in note for note in dataset.describe()["notes"])


def test_partners_that_disagree_are_refused(tmp_path, basis):
    folder = write_deeph_folder(periodic_record(basis), tmp_path / "bad", basis)
    with h5py.File(folder / "overlaps.h5") as handle:
        block = handle["[0, 1, 0, 3, 2]"][()]
    _replace(folder, "overlaps.h5", "[0, 1, 0, 3, 2]", block + 0.01)
    with pytest.raises(HamkitError, match=r"bad: overlaps.h5 blocks \[0, -1, 0, 2, 3\] and \[0, 1, 0, 3, 2\] "
                                          r"are not each other's transpose \(max difference 0.01\)"):
        open_deeph(folder)[0]


@pytest.mark.parametrize(("file_name", "key", "value", "message"), [
    ("hamiltonians.h5", "[1, 0, 0, 1, 4]", np.ones((9, 1)),
     r"atoms: hamiltonians.h5 key \[1, 0, 0, 1, 4\] names atoms 1, 4, but the structure has 3"),
    ("overlaps.h5", "[0, 1, 0, 1, 2]", np.ones((9, 4)),
     r"shape: overlaps.h5 block \[0, 1, 0, 1, 2\] has shape \(9, 4\), but orbital_types.dat gives \(9, 5\)"),
])
def test_bad_blocks_name_folder_file_and_key(tmp_path, basis, file_name, key, value, message):
    folder = write_deeph_folder(periodic_record(basis), tmp_path / message.split(":")[0], basis)
    with h5py.File(folder / file_name, "a") as handle:
        if key in handle:
            del handle[key]
        handle[key] = value
    with pytest.raises(HamkitError, match=message):
        open_deeph(folder)[0]


def test_spinful_and_singular_lattice_are_refused(tmp_path, basis):
    folder = write_published_periodic(tmp_path / "spin", published_blocks(),
                                      info={"isspinful": True, "fermi_level": 0.0})
    with pytest.raises(HamkitError, match=r"spin: holds spinful data \(info.json: isspinful = true\): "
                                          r"spin-orbit Hamiltonians are not supported yet"):
        open_deeph(folder)
    folder = write_deeph_folder(periodic_record(basis), tmp_path / "flat", basis)
    np.savetxt(folder / "lat.dat", np.diag([3.0, 3.0, 0.0]))
    with pytest.raises(HamkitError, match=r"flat: lat.dat holds a singular lattice"):
        open_deeph(folder)[0]
