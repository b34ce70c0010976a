"""Contract tests of the ``dataset`` kind: sequence protocol, symmetric matrices of the basis' size.

Subclass :class:`DatasetContract` and override the ``dataset`` fixture with a small
instance (``tmp_path`` is at hand to write a file first)::

    class TestMyReader(DatasetContract):
        @pytest.fixture
        def dataset(self, tmp_path):
            return MyReader(MyReader.Config(path=str(write_small_file(tmp_path))))

Only the first ``max_records`` records are read. The ``check_*`` functions are the
assertions themselves.
"""

from __future__ import annotations

from itertools import islice
from typing import ClassVar

import numpy as np
import pytest

from hamkit.components import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import HamiltonianRecord, Structure, translation_key


def _same_atoms(a: Structure, b: Structure) -> bool:
    return np.array_equal(a.numbers, b.numbers) and np.array_equal(a.positions, b.positions)


def _same_record(a: HamiltonianRecord, b: HamiltonianRecord) -> bool:
    return a.key == b.key and _same_atoms(a.structure, b.structure) and np.array_equal(a.hamiltonian, b.hamiltonian)


def check_dataset_access(dataset: Dataset, max_records: int = 8) -> list[HamiltonianRecord]:
    """``len``, indexing (negative too), iteration and ``key_and_structure`` agree.

    Args:
        dataset: The dataset under test.
        max_records: Records read at most.

    Returns:
        The first ``min(len, max_records)`` records, by index.

    Raises:
        AssertionError: Empty dataset, records that differ between access paths, an index
            past the end that does not raise ``IndexError``, or repeated keys.
    """
    assert isinstance(dataset, Dataset), f"{type(dataset).__name__} is not a Dataset"
    length = len(dataset)
    assert length >= 1, "the dataset is empty"
    count = min(length, max_records)
    try:
        dataset[length]
    except IndexError:
        pass
    else:
        raise AssertionError(f"dataset[{length}] (one past the end) does not raise IndexError")
    records = [dataset[index] for index in range(count)]
    iterated = list(islice(iter(dataset), count))
    assert len(iterated) == count, f"iteration yields {len(iterated)} records, len() says {length}"
    for index, (by_index, by_iteration) in enumerate(zip(records, iterated)):
        assert isinstance(by_index, HamiltonianRecord), f"record {index} is a {type(by_index).__name__}"
        assert _same_record(by_index, by_iteration), f"record {index} differs between dataset[{index}] and iteration"
        key, structure = dataset.key_and_structure(index)
        assert key == by_index.key and _same_atoms(structure, by_index.structure), (
            f"key_and_structure({index}) disagrees with dataset[{index}]"
        )
    if length <= max_records:
        yielded = sum(1 for _ in islice(iter(dataset), length + 1))
        counted = yielded if yielded < length else "more"
        assert yielded == length, f"iteration yields {counted} records, len() says {length}"
    assert _same_record(dataset[-1], dataset[length - 1]), "dataset[-1] is not the last record"
    keys = [record.key for record in records]
    assert len(set(keys)) == len(keys), f"repeated record keys: {keys}"
    return records


def _symmetry_error(matrices: np.ndarray, record: HamiltonianRecord) -> float:
    """Relative ``max |M - M^T|`` (periodic: ``M(-R)`` against ``M(R)^T``)."""
    scale = max(float(np.abs(matrices).max()), 1e-300)
    if record.translations is None:
        return float(np.abs(matrices - matrices.T).max()) / scale
    lookup = record.translation_lookup()
    found = [lookup.get(translation_key(-row)) for row in record.translations]
    partners = [partner for partner in found if partner is not None]
    assert len(partners) == len(found), f"record {record.key!r}: some translation R has no -R"
    return float(np.abs(matrices - matrices[partners].transpose(0, 2, 1)).max()) / scale


def check_record(record: HamiltonianRecord, basis: OrbitalBasis, rtol: float = 1e-10) -> None:
    """The basis covers the atoms; H (and S) have the basis' size and are symmetric.

    Args:
        record: One record.
        basis: The dataset's :class:`~hamkit.data.basis.OrbitalBasis`.
        rtol: Largest accepted ``max |M - M^T| / max |M|``.

    Raises:
        AssertionError: An element without basis functions, a wrong shape, or an asymmetric
            matrix (periodic: ``H(-R) != H(R)^T``).
    """
    numbers = record.structure.numbers
    missing = sorted(set(int(z) for z in numbers) - set(basis.elements))
    assert not missing, f"record {record.key!r}: elements {missing} are not in the basis {list(basis.elements)}"
    n = basis.total_orbitals(numbers)
    leading = () if record.translations is None else (len(record.translations),)
    for name, matrices in (("hamiltonian", record.hamiltonian), ("overlap", record.overlap)):
        if matrices is None:
            continue
        assert matrices.shape == (*leading, n, n), (
            f"record {record.key!r}: {name} has shape {matrices.shape}, expected {(*leading, n, n)}"
        )
        assert np.isfinite(matrices).all(), f"record {record.key!r}: {name} has non-finite values"
        error = _symmetry_error(matrices, record)
        assert error <= rtol, f"record {record.key!r}: {name} is not symmetric (relative error {error:.3e})"


class DatasetContract:
    """Contract tests of a dataset.

    Asserts: it is a :class:`~hamkit.components.Dataset`, non-empty; indexing, negative
    indexing, iteration and ``key_and_structure`` return the same records; indexing past
    the end raises ``IndexError``; keys do not repeat; every record's elements are in
    ``dataset.basis``, its H and S have the basis' size and are symmetric (periodic:
    ``M(-R) = M(R)^T``).

    Override the ``dataset`` fixture.
    """

    max_records: ClassVar[int] = 8
    """Records read at most."""
    symmetry_rtol: ClassVar[float] = 1e-10
    """Largest accepted relative asymmetry of H and S."""

    @pytest.fixture
    def dataset(self) -> Dataset:
        """Override: return a small instance of the dataset under test."""
        pytest.fail("override the dataset fixture in your DatasetContract subclass")

    def test_sequence_access_agrees(self, dataset):
        check_dataset_access(dataset, self.max_records)

    def test_records_fit_the_basis_and_are_symmetric(self, dataset):
        for index in range(min(len(dataset), self.max_records)):
            check_record(dataset[index], dataset.basis, self.symmetry_rtol)
