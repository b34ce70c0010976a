"""Supercell series of ``hamkit bench`` for periodic recipes."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.bench.crystals import supercell, supercell_series
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import structure_graph
from hamkit.data.structure import Structure
from hamkit.errors import HamkitError

from tests.periodic.conftest import honeycomb

BASIS = OrbitalBasis.from_shells({5: [0, 1], 7: [0, 1]}, name="gth-szv")


def test_supercell_keeps_every_environment():
    """An n x n supercell has n^2 times the atoms and exactly n^2 times the pairs within a cutoff."""
    primitive = honeycomb(3)
    pairs = structure_graph(primitive, BASIS, 4.0).pair_index.shape[1]
    for n in (2, 3):
        big = supercell(primitive, n)
        assert big.n_atoms == n * n * primitive.n_atoms and big.pbc == primitive.pbc
        np.testing.assert_allclose(big.cell[2], primitive.cell[2])
        assert structure_graph(big, BASIS, 4.0).pair_index.shape[1] == n * n * pairs


def test_series_names_and_errors():
    series = supercell_series(honeycomb(), [1, 2])
    assert [item.name for item in series] == ["1x1 supercell", "2x2 supercell"]
    with pytest.raises(HamkitError, match="periodic"):
        supercell_series(Structure([1], np.zeros((1, 3))), [1])
    with pytest.raises(HamkitError, match="positive"):
        supercell_series(honeycomb(), [0])


def test_synthetic_periodic_labels_are_hermitian_paired():
    from hamkit.bench.timing import synthetic_record

    record = synthetic_record(honeycomb(1), BASIS, 0, 4.0)
    lookup = record.translation_lookup()
    for r, translation in enumerate(record.translations.tolist()):
        opposite = lookup[tuple(-v for v in translation)]
        np.testing.assert_array_equal(record.hamiltonian[opposite], record.hamiltonian[r].T)
