"""Rotation helpers: Wigner matrices, orbital rotation, frames."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.data import OrbitalBasis
from hamkit.physics.frames import E3NN_AXIS_ORDER, e3nn_rotation, from_e3nn_frame, to_e3nn_frame
from hamkit.physics.rotation import (
    orbital_rotation_matrix,
    random_rotation,
    rotate_operator,
    rotate_positions,
    shell_wigner_d,
)


def test_random_rotation_is_proper(rng):
    for _ in range(20):
        rotation = random_rotation(rng)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-13)
        assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_frames(rng):
    vectors = rng.standard_normal((4, 3))
    assert E3NN_AXIS_ORDER == (1, 2, 0)
    np.testing.assert_array_equal(to_e3nn_frame(vectors), vectors[:, [1, 2, 0]])
    np.testing.assert_array_equal(from_e3nn_frame(to_e3nn_frame(vectors)), vectors)
    rotation = random_rotation(rng)
    np.testing.assert_allclose(
        to_e3nn_frame(vectors @ rotation.T), to_e3nn_frame(vectors) @ e3nn_rotation(rotation).T, atol=1e-13
    )


def test_p_shell_rotates_like_py_pz_px(rng):
    rotation = random_rotation(rng)
    np.testing.assert_allclose(shell_wigner_d(1, rotation), e3nn_rotation(rotation), atol=1e-13)


def test_wigner_d_is_a_representation(rng):
    a, b = random_rotation(rng), random_rotation(rng)
    for l in range(5):
        np.testing.assert_allclose(shell_wigner_d(l, a @ b), shell_wigner_d(l, a) @ shell_wigner_d(l, b), atol=1e-12)


def test_orbital_rotation_is_orthogonal_and_rotates_operators(rng):
    basis = OrbitalBasis.from_shells({1: [0, 1], 8: [0, 1, 2, 3]})
    numbers = [8, 1]
    rotation = random_rotation(rng)
    d = orbital_rotation_matrix(numbers, basis, rotation)
    assert d.shape == (20, 20)
    np.testing.assert_allclose(d @ d.T, np.eye(20), atol=1e-12)
    matrix = rng.standard_normal((2, 20, 20))
    np.testing.assert_allclose(rotate_operator(matrix, numbers, basis, rotation), d @ matrix @ d.T)


def test_improper_or_bad_rotation_raises(rng):
    with pytest.raises(ValueError):
        shell_wigner_d(1, -np.eye(3))
    with pytest.raises(ValueError):
        rotate_positions(np.zeros((2, 3)), 2 * np.eye(3))
