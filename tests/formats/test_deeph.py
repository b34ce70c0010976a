"""``deeph`` molecules: processed DeepH folders (OpenMX order, eV) written here; writer round trips.

Periodic folders: ``test_deeph_periodic.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from hamkit import plugin_host

import hamkit_plugins.deeph
from hamkit.components import BuildContext
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_from_canonical, matrix_to_canonical
from hamkit.testing.contracts import DatasetContract
from hamkit_plugins.deeph import HARTREE_EV, DeepHConfig, DeepHDataset, write_deeph_folder

from tests.formats.reference_match import assert_matches_reference


def write_published_folder(folder: Path, reference, basis, *, spinful: bool = False) -> Path:
    """A DeepH folder in the published layout, written by hand (not with the writer)."""
    folder.mkdir(parents=True)
    numbers = reference.numbers
    cell_columns = np.eye(3) * 15.0
    np.savetxt(folder / "element.dat", numbers, fmt="%d")
    np.savetxt(folder / "site_positions.dat", reference.positions.T)  # 3 x N
    np.savetxt(folder / "lat.dat", cell_columns)
    np.savetxt(folder / "rlat.dat", 2 * np.pi * np.linalg.inv(cell_columns).T)
    (folder / "orbital_types.dat").write_text(
        "".join(" ".join(map(str, basis.shell_ls(z))) + "\n" for z in numbers))
    (folder / "info.json").write_text(json.dumps({"isspinful": spinful, "fermi_level": -3.5}))
    offsets = basis.atom_orbital_offsets(numbers)
    for name, matrix, scale in (("hamiltonians.h5", reference.fock, HARTREE_EV),
                                ("overlaps.h5", reference.overlap, 1.0)):
        openmx = matrix_from_canonical(matrix_to_canonical(matrix, numbers, basis, "pyscf"),
                                       numbers, basis, "openmx") * scale
        with h5py.File(folder / name, "w") as handle:
            for i in range(len(numbers)):
                for j in range(len(numbers)):
                    handle[f"[0, 0, 0, {i + 1}, {j + 1}]"] = \
                        openmx[offsets[i]:offsets[i + 1], offsets[j]:offsets[j + 1]]
    return folder


def open_deeph(path: Path, **options) -> DeepHDataset:
    return DeepHDataset(DeepHConfig(path=str(path), **options))


# --------------------------------------------------------------------- reading
def test_folder_of_folders_gives_the_pyscf_matrices(tmp_path, references, basis):
    for name, reference in zip(("2", "10"), references):  # natural order: 2 before 10
        write_published_folder(tmp_path / "set" / name, reference, basis)
    dataset = open_deeph(tmp_path / "set")
    assert dataset.keys == ["2", "10"]
    assert dataset.basis.shells_by_element == basis.shells_by_element
    assert dataset.basis.name == "deeph(H:ssp C:sssppd O:sssppd)"
    for record, reference in zip(dataset, references):
        assert_matches_reference(record, reference)
        np.testing.assert_allclose(record.structure.positions, reference.positions, atol=1e-15)
        np.testing.assert_array_equal(record.extras["lattice"], np.eye(3) * 15.0)
        assert record.extras["fermi_level"] == pytest.approx(-3.5 / HARTREE_EV)
        assert not record.is_periodic and record.translations is None
        assert record.hamiltonian.shape == record.overlap.shape == reference.hamiltonian.shape
    single = open_deeph(tmp_path / "set" / "10")
    assert len(single) == 1 and single[0].key == "10"


class TestDeepHDatasetContract(DatasetContract):
    @pytest.fixture
    def dataset(self, tmp_path, references, basis):
        for name, reference in zip(("2", "10"), references):
            write_published_folder(tmp_path / "set" / name, reference, basis)
        return open_deeph(tmp_path / "set")


def test_writer_reader_round_trip(tmp_path, references, basis):
    for reference in references:
        record = HamiltonianRecord(Structure(reference.numbers, reference.positions), reference.hamiltonian,
                                   reference.canonical_overlap, key=reference.name)
        write_deeph_folder(record, tmp_path / "out" / reference.name, basis)
    dataset = open_deeph(tmp_path / "out")
    for reference in references:
        back = dataset[dataset.keys.index(reference.name)]
        np.testing.assert_array_equal(back.structure.numbers, reference.numbers)
        np.testing.assert_array_equal(back.structure.positions, reference.positions)  # %.17g text
        np.testing.assert_allclose(back.hamiltonian, reference.hamiltonian, rtol=1e-15, atol=1e-15)
        np.testing.assert_array_equal(back.overlap, reference.canonical_overlap)
    with pytest.raises(HamkitError, match="already exists and holds element.dat, hamiltonians.h5"):
        write_deeph_folder(record, tmp_path / "out" / references[-1].name, basis)


def test_registered_through_the_plugin_host(tmp_path, references, basis):
    host = plugin_host.load_plugins(extra_plugins={"deeph": hamkit_plugins.deeph},
                                    environ={"HAMKIT_PLUGINS": "deeph"})
    assert not host.problems and host.registry.names("dataset") == ["deeph"]
    record = host.registry.get("dataset", "deeph")
    write_published_folder(tmp_path / "set" / "w", references[0], basis)
    dataset = record.cls.from_config(record.config_class(path=str(tmp_path / "set")), BuildContext())
    info = dataset.describe()
    assert info["structures"] == 1 and info["elements"] == [1, 8] and info["orbitals"]["max"] == 24


# --------------------------------------------------------------------- bad input
def _edit_h5(folder: Path, name: str, key: str, value) -> None:
    with h5py.File(folder / name, "a") as handle:
        del handle[key]
        handle[key] = value


def test_damaged_folders_name_the_folder(tmp_path, references, basis):
    water = references[0]

    def fresh(name: str, **kwargs) -> Path:
        return write_published_folder(tmp_path / name, water, basis, **kwargs)

    with pytest.raises(HamkitError, match=r"spinful.*: holds spinful data .* not supported yet"):
        open_deeph(fresh("spinful", spinful=True))
    folder = fresh("truncated")
    data = (folder / "hamiltonians.h5").read_bytes()
    (folder / "hamiltonians.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(HamkitError, match=r"truncated: hamiltonians.h5 cannot be read as HDF5"):
        open_deeph(folder)[0]
    folder = fresh("missing")
    (folder / "overlaps.h5").unlink()
    with pytest.raises(HamkitError, match=r"missing: has no overlaps.h5"):
        open_deeph(folder)[0]
    folder = fresh("shape")
    _edit_h5(folder, "hamiltonians.h5", "[0, 0, 0, 1, 2]", np.zeros((14, 4)))
    with pytest.raises(HamkitError, match=r"shape: hamiltonians.h5 block \[0, 0, 0, 1, 2\] has shape "
                                          r"\(14, 4\), but orbital_types.dat gives \(14, 5\)"):
        open_deeph(folder)[0]
    folder = fresh("nan")
    _edit_h5(folder, "overlaps.h5", "[0, 0, 0, 2, 2]", np.full((5, 5), np.nan))
    with pytest.raises(HamkitError, match=r"nan: overlaps.h5 block \[0, 0, 0, 2, 2\] contains NaN"):
        open_deeph(folder)[0]
    folder = fresh("asymmetric")
    _edit_h5(folder, "hamiltonians.h5", "[0, 0, 0, 1, 2]", np.ones((14, 5)))
    with pytest.raises(HamkitError, match=r"asymmetric: record asymmetric: H\(R=0\) is not symmetric"):
        open_deeph(folder)[0]
    folder = fresh("atom")
    _edit_h5(folder, "hamiltonians.h5", "[0, 0, 0, 1, 2]", np.ones((14, 5)))
    with h5py.File(folder / "hamiltonians.h5", "a") as handle:
        handle["[0, 0, 0, 1, 4]"] = np.ones((14, 5))
    with pytest.raises(HamkitError, match=r"atom: hamiltonians.h5 key \[0, 0, 0, 1, 4\] names atoms 1, 4, "
                                          r"but the structure has 3"):
        open_deeph(folder)[0]


def test_inconsistent_orbital_types_are_refused(tmp_path, references, basis):
    folder = write_published_folder(tmp_path / "a", references[0], basis)
    (folder / "orbital_types.dat").write_text("0 0 0 1 1 2\n0 0 1\n0 1\n")
    with pytest.raises(HamkitError, match=r"a: atom 3 \(Z=1\) has shells \[0, 1\] but an earlier atom "
                                          r"of that element \[0, 0, 1\]"):
        open_deeph(folder)
    (folder / "orbital_types.dat").write_text("0 0 0 1 1 4\n0 0 1\n0 0 1\n")
    with pytest.raises(HamkitError, match=r"orbital_types.dat line 1 is \[0, 0, 0, 1, 1, 4\]"):
        open_deeph(folder)
    (folder / "orbital_types.dat").write_text("0 0 1\n0 0 1\n")
    with pytest.raises(HamkitError, match="element.dat lists 3 atoms but orbital_types.dat 2"):
        open_deeph(folder)
    other = write_published_folder(tmp_path / "set" / "1", references[0], basis)
    write_published_folder(tmp_path / "set" / "2", references[0], basis)
    (other.parent / "2" / "orbital_types.dat").write_text("0 0 0 1 1 2\n0 1\n0 1\n")
    with pytest.raises(HamkitError, match=r"set/2: H has shells \[0, 1\], but \[0, 0, 1\] in .*set/1"):
        open_deeph(tmp_path / "set")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HamkitError, match="empty: holds no processed DeepH folder"):
        open_deeph(tmp_path / "empty")
