"""The dataset contract: passes a correct dataset, catches broken ones (negative controls)."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
import pytest

from hamkit.components import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord
from hamkit.testing.contracts import DatasetContract
from hamkit.testing.molecules import SVP_LIKE_SHELLS, hydroxymethyl, svp_like_basis, water


def symmetric(n: int, seed: int) -> np.ndarray:
    """A random symmetric (n, n) matrix."""
    matrix = np.random.default_rng(seed).standard_normal((n, n))
    return matrix + matrix.T


def good_records() -> list[HamiltonianRecord]:
    """Water and hydroxymethyl with random symmetric H and S in the def2-SVP-shaped basis."""
    basis = svp_like_basis()
    records = []
    for seed, structure in enumerate([water(), hydroxymethyl()]):
        n = basis.total_orbitals(structure.numbers)
        records.append(HamiltonianRecord(structure, symmetric(n, seed), symmetric(n, seed + 10), key=f"m{seed}"))
    return records


class ListDataset(Dataset):
    """Correct: records held in a list."""

    name: ClassVar[str] = "list"

    def __init__(self, records: list[HamiltonianRecord], basis: OrbitalBasis | None = None) -> None:
        self.records = records
        self.basis = basis or svp_like_basis()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):
        return self.records[index]


class ShortIteration(ListDataset):
    """Broken: iteration stops after the first record."""

    def __iter__(self):
        yield self.records[0]


class ReversedIteration(ListDataset):
    """Broken: iteration runs backwards."""

    def __iter__(self):
        yield from reversed(self.records)


class WrappingIndex(ListDataset):
    """Broken: indices past the end wrap around instead of raising IndexError."""

    def __getitem__(self, index):
        return self.records[index % len(self.records)]


class WrongKeys(ListDataset):
    """Broken: ``key_and_structure`` disagrees with the records."""

    def key_and_structure(self, index):
        return "other", self.records[index].structure


def with_first(change) -> list[HamiltonianRecord]:
    """The good records with the first one changed by ``change(record) -> record``."""
    records = good_records()
    return [change(records[0]), *records[1:]]


class TestListDatasetContract(DatasetContract):
    """Positive control: the whole mixin passes a correct dataset."""

    @pytest.fixture
    def dataset(self):
        return ListDataset(good_records())


@pytest.mark.parametrize("dataset, message", [
    (ShortIteration(good_records()), "iteration yields 1 records"),
    (ReversedIteration(good_records()), "differs between dataset"),
    (WrappingIndex(good_records()), "does not raise IndexError"),
    (WrongKeys(good_records()), "key_and_structure"),
    (ListDataset(with_first(lambda r: replace(r, key="m1"))), "repeated record keys"),
], ids=["short-iteration", "reversed-iteration", "no-index-error", "wrong-keys", "repeated-keys"])
def test_catches_disagreeing_access(dataset, message):
    with pytest.raises(AssertionError, match=message):
        DatasetContract().test_sequence_access_agrees(dataset=dataset)


def antisymmetric_part(record: HamiltonianRecord) -> HamiltonianRecord:
    """The record with 1e-6 of an antisymmetric matrix added to H."""
    noise = np.random.default_rng(3).standard_normal(record.hamiltonian.shape)
    return replace(record, hamiltonian=record.hamiltonian + 1e-6 * (noise - noise.T))


@pytest.mark.parametrize("dataset, message", [
    (ListDataset(with_first(antisymmetric_part)), "hamiltonian is not symmetric"),
    (ListDataset(with_first(lambda r: replace(r, overlap=r.overlap[:-1, :-1]))), "overlap has shape"),
    (ListDataset(good_records(), OrbitalBasis.from_shells({z: SVP_LIKE_SHELLS[z] for z in (1, 8)})),
     r"elements \[6\] are not in the basis"),
], ids=["asymmetric", "wrong-size", "basis-misses-carbon"])
def test_catches_bad_records(dataset, message):
    with pytest.raises(AssertionError, match=message):
        DatasetContract().test_records_fit_the_basis_and_are_symmetric(dataset=dataset)
