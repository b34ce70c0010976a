"""The embedded datasets and the ``hamkit`` dataset plugin."""

from __future__ import annotations

import numpy as np
import pytest

import hamkit_plugins.datasets
from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit.plugin_host import load_plugins
from hamkit_plugins.datasets import HamkitStoreDataset, open_dataset
from hamkit_plugins.datasets.embedded import embedded_folder, embedded_names


def test_plugin_is_found_through_the_host():
    host = load_plugins(extra_plugins={"datasets": hamkit_plugins.datasets},
                        environ={"HAMKIT_PLUGINS": "datasets"})
    assert not host.problems
    record = host.registry.get("dataset", "hamkit")
    assert record.cls is HamkitStoreDataset and record.provider.plugin == "datasets"
    dataset = record.cls.from_config(record.config_class(path="embedded:water", limit=3),
                                     BuildContext())
    assert len(dataset) == 3 and dataset[2].key == "water_000002"


def test_embedded_files_are_small_enough():
    assert embedded_names() == ["materials_2d", "qm9_mini", "water"]
    sizes = {p.stem: p.stat().st_size for p in embedded_folder().glob("*.h5")}
    assert max(sizes.values()) < 4e6 and sum(sizes.values()) < 6e6


@pytest.mark.parametrize("name, count, elements", [("water", 50, [1, 8]),
                                                   ("qm9_mini", 32, [1, 6, 7, 8, 9])])
def test_embedded_sets_are_consistent_with_pyscf(name, count, elements):
    from pyscf import gto

    dataset = open_dataset(f"embedded:{name}")
    assert len(dataset) == count and dataset.species() == elements
    provenance = dataset.provenance
    assert provenance["xc"] == "b3lyp" and provenance["basis"] == "def2-svp"
    assert dataset.header.convention == "canonical" and dataset.basis.name == "def2-svp"
    for record in dataset:
        assert np.abs(record.hamiltonian - record.hamiltonian.T).max() < 1e-10
        assert np.abs(record.overlap - record.overlap.T).max() < 1e-14
    record = dataset[-1]
    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(record.structure.numbers,
                                                          record.structure.positions)],
                unit="Angstrom", basis="def2-svp", charge=record.structure.charge, verbose=0)
    overlap = matrix_to_canonical(mol.intor("int1e_ovlp"), record.structure.numbers,
                                  dataset.basis, "pyscf")
    assert np.abs(record.overlap - overlap).max() < 1e-10


def test_unknown_embedded_name_suggests():
    with pytest.raises(HamkitError, match="unknown embedded dataset 'watr'. Did you mean 'water'"):
        open_dataset("embedded:watr")


def test_limit_and_negative_index():
    dataset = open_dataset("embedded:qm9_mini", limit=4)
    assert len(dataset) == 4 and dataset[-1].key == "mol_000003"
    assert dataset[-1].extras["smiles"] == "C#C" and dataset.keys[0] == "mol_000000"
    with pytest.raises(IndexError):
        dataset[4]
