"""``md17``: SchNOrb ASE databases (ORCA order, Hartree) written here, plain and base64."""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hamkit import plugin_host

import hamkit_plugins.md17
from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_from_canonical, matrix_to_canonical
from hamkit.testing.contracts import DatasetContract
from hamkit_plugins.md17 import Md17Config, Md17Dataset

from tests.formats.reference_match import assert_matches_reference


def orca_matrices(reference, basis) -> tuple[np.ndarray, np.ndarray]:
    """PySCF matrices of a reference in ORCA order (as SchNOrb files hold them)."""
    to_orca = [matrix_from_canonical(matrix_to_canonical(m, reference.numbers, basis, "pyscf"),
                                     reference.numbers, basis, "orca")
               for m in (reference.fock, reference.overlap)]
    return to_orca[0], to_orca[1]


def encode(data: dict[str, np.ndarray]) -> dict[str, object]:
    """The old schnetpack layout: base64 text plus _shape_/_dtype_ entries."""
    encoded: dict[str, object] = {}
    for name, array in data.items():
        encoded[name] = base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()
        encoded[f"_shape_{name}"] = list(array.shape)
        encoded[f"_dtype_{name}"] = str(array.dtype)
    return encoded


def write_md17(path: Path, references, basis, *, base64_arrays: bool = False, flat: bool = False,
               tamper=None, numbers=None) -> Path:
    """One ASE row per reference; ``tamper(data)`` may damage the data of the first row."""
    import ase.db
    from ase import Atoms

    db = ase.db.connect(str(path))
    for index, reference in enumerate(references):
        hamiltonian, overlap = orca_matrices(reference, basis)
        if flat:
            hamiltonian, overlap = hamiltonian.reshape(-1), overlap.reshape(-1)
        data = {"hamiltonian": hamiltonian, "overlap": overlap,
                "energy": np.array([reference.energy]),
                "forces": np.full((len(reference.numbers), 3), 0.25)}
        if index == 0 and tamper is not None:
            tamper(data)
        if base64_arrays:
            data = encode(data)
        atom_numbers = reference.numbers if numbers is None or index else numbers
        db.write(Atoms(numbers=atom_numbers, positions=reference.positions), data=data)
    return path


def open_md17(path: Path, **options) -> Md17Dataset:
    return Md17Dataset(Md17Config(path=str(path), **options))


# --------------------------------------------------------------------- reading
@pytest.mark.parametrize("base64_arrays, flat", [(False, False), (True, False), (False, True)])
def test_reads_the_pyscf_matrices(tmp_path, references, basis, base64_arrays, flat):
    path = write_md17(tmp_path / "md17.db", references, basis, base64_arrays=base64_arrays, flat=flat)
    dataset = open_md17(path)
    assert len(dataset) == 2 and dataset.keys == ["row 1", "row 2"] and dataset.basis.elements == (1, 6, 8)
    for record, reference in zip(dataset, references):
        assert_matches_reference(record, reference)
        np.testing.assert_array_equal(record.structure.positions, reference.positions)
        assert record.extras["energy"] == reference.energy
        assert record.extras["forces"].shape == (len(reference.numbers), 3)
    assert dataset[0].key == "1"


def test_registered_through_the_plugin_host(tmp_path, references, basis):
    host = plugin_host.load_plugins(extra_plugins={"md17": hamkit_plugins.md17},
                                    environ={"HAMKIT_PLUGINS": "md17"})
    assert not host.problems and host.registry.names("dataset") == ["md17"]
    record = host.registry.get("dataset", "md17")
    path = write_md17(tmp_path / "m.db", references, basis)
    dataset = record.cls.from_config(record.config_class(path=str(path)), BuildContext())
    info = dataset.describe()
    assert info["structures"] == 2 and info["element_symbols"] == ["H", "C", "O"]
    assert info["orbitals"] == {"min": 24, "max": 38} and info["provenance"]["code"] == "orca"


class TestMd17DatasetContract(DatasetContract):
    @pytest.fixture(params=[False, True], ids=["plain", "base64"])
    def dataset(self, request, tmp_path, references, basis):
        return open_md17(write_md17(tmp_path / "md17.db", references, basis, base64_arrays=request.param))


# --------------------------------------------------------------------- bad input
def test_damaged_or_foreign_files_are_user_errors(tmp_path, references, basis):
    path = write_md17(tmp_path / "m.db", references, basis)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(HamkitError, match="truncated.db"):
        [record for record in open_md17(truncated)]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(3000))
    with pytest.raises(HamkitError, match="garbage.db: cannot read it as an ASE SQLite database"):
        open_md17(garbage)
    foreign = tmp_path / "foreign.db"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE data (id INTEGER, Ham BLOB)")
    connection.commit()
    connection.close()
    before = foreign.read_bytes()
    with pytest.raises(HamkitError, match=r"foreign.db: has no ASE 'systems' table \(tables: \['data'\]\)"):
        open_md17(foreign)
    assert foreign.read_bytes() == before  # ase.db never got to create its tables


def _asymmetric(data):
    data["hamiltonian"] = data["hamiltonian"].copy()
    data["hamiltonian"][0, 3] += 1e-2


def _nan(data):
    data["overlap"] = data["overlap"].copy()
    data["overlap"][2, 2] = np.nan


def _small(data):
    data["hamiltonian"] = data["hamiltonian"][:20, :20].copy()


def _no_overlap(data):
    del data["overlap"]


@pytest.mark.parametrize("tamper, message", [
    (_small, r"record row 1: hamiltonian has shape \(20, 20\) \(400 values\), but basis 'def2-svp' gives 24"),
    (_asymmetric, r"record row 1: hamiltonian is not symmetric"),
    (_nan, r"record row 1: overlap contains NaN"),
    (_no_overlap, r"record row 1: has no data\['overlap'\]"),
])
@pytest.mark.parametrize("base64_arrays", [False, True])
def test_bad_rows_name_file_and_row(tmp_path, references, basis, tamper, message, base64_arrays):
    path = write_md17(tmp_path / "bad.db", references, basis, tamper=tamper, base64_arrays=base64_arrays)
    dataset = open_md17(path)
    assert_matches_reference(dataset[1], references[1])  # the other row is fine
    with pytest.raises(HamkitError, match=f"bad.db: {message}"):
        dataset[0]


def test_bad_base64_and_unknown_elements(tmp_path, references, basis):
    def shorten(data):  # the _shape_ entry will disagree with the payload
        data["overlap"] = data["overlap"][:-1]

    path = write_md17(tmp_path / "b64.db", references, basis, base64_arrays=True, tamper=shorten)
    import ase.db

    db = ase.db.connect(str(path))
    row = db.get(id=1)
    data = dict(row.data)
    data["_shape_overlap"] = [24, 24]
    db.update(1, data=data)
    with pytest.raises(HamkitError, match=r"b64.db: record row 1: data\['overlap'\] decodes to 4416 bytes, "
                                          r"but _shape_ \[24, 24\] and _dtype_ float64 need 4608"):
        open_md17(path)[0]
    data["overlap"] = "not base64!"
    db.update(1, data=data)
    with pytest.raises(HamkitError, match=r"record row 1: data\['overlap'\] is not valid base64"):
        open_md17(path)[0]
    francium = write_md17(tmp_path / "fr.db", references, basis, numbers=np.array([87, 1, 1]))
    with pytest.raises(HamkitError, match=r"fr.db: record row 1: has element Fr \(Z=87\), which basis "
                                          r"'def2-svp' lacks"):
        open_md17(francium)
