"""Atom-pair blocks, sub-block slices and the packed representation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamkit.data import OrbitalBasis
from hamkit.physics.blocks import (
    PackedBlockLayout,
    all_pairs,
    matrix_from_blocks,
    matrix_to_blocks,
    onsite_mask,
    pack_blocks,
    subblock_slices,
    unpack_blocks,
)

BASIS = OrbitalBasis.from_shells({1: [0, 0, 1], 8: [0, 0, 0, 1, 1, 2]})
NUMBERS = [8, 1, 1]


def test_blocks_round_trip_exact(rng):
    matrix = rng.standard_normal((2, 24, 24))
    blocks = matrix_to_blocks(matrix, NUMBERS, BASIS)
    assert len(blocks) == 9 and blocks[(0, 1)].shape == (2, 14, 5)
    np.testing.assert_array_equal(blocks[(1, 2)], matrix[:, 14:19, 19:24])
    np.testing.assert_array_equal(matrix_from_blocks(blocks, NUMBERS, BASIS), matrix)


def test_missing_blocks_are_zero_and_bad_shapes_raise(rng):
    matrix = rng.standard_normal((24, 24))
    blocks = matrix_to_blocks(matrix, NUMBERS, BASIS, pairs=[(0, 0)])
    rebuilt = matrix_from_blocks(blocks, NUMBERS, BASIS)
    np.testing.assert_array_equal(rebuilt[:14, :14], matrix[:14, :14])
    assert not rebuilt[14:].any()
    with pytest.raises(ValueError, match="block"):
        matrix_from_blocks({(0, 1): np.zeros((5, 14))}, NUMBERS, BASIS)


def test_packed_has_no_padding_and_round_trips(rng):
    matrix = rng.standard_normal((3, 24, 24))
    layout = PackedBlockLayout.build(NUMBERS, BASIS)
    assert layout.offsets[-1] == 24 * 24  # exactly the matrix elements, nothing more
    packed = pack_blocks(matrix, layout)
    np.testing.assert_array_equal(unpack_blocks(packed, layout), matrix)
    position = list(map(tuple, layout.pairs)).index((0, 2))
    np.testing.assert_array_equal(layout.block(packed, position), matrix[:, :14, 19:24])


def test_packed_works_for_torch_and_subsets(rng):
    matrix = rng.standard_normal((24, 24))
    layout = PackedBlockLayout.build(NUMBERS, BASIS, pairs=all_pairs(3, include_onsite=False))
    assert layout.offsets[-1] == 2 * (14 * 5 * 2 + 5 * 5)
    packed = pack_blocks(matrix, layout)
    packed_torch = pack_blocks(torch.from_numpy(matrix), layout)
    np.testing.assert_array_equal(packed_torch.numpy(), packed)
    unpacked = unpack_blocks(packed, layout)
    mask = ~onsite_mask(NUMBERS, BASIS)
    np.testing.assert_array_equal(unpacked[mask], matrix[mask])
    assert not unpacked[~mask].any()


def test_subblock_slices_cover_the_pair_block():
    subs = subblock_slices(8, 1, BASIS)
    assert len(subs) == 6 * 3
    covered = np.zeros((14, 5), dtype=int)
    for s in subs:
        assert (s.rows.stop - s.rows.start, s.cols.stop - s.cols.start) == (2 * s.l_row + 1, 2 * s.l_col + 1)
        covered[s.rows, s.cols] += 1
    assert (covered == 1).all()
    assert (subs[-1].l_row, subs[-1].l_col, subs[-1].shell_row, subs[-1].shell_col) == (2, 1, 5, 2)
