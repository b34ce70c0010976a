"""Sub-block <-> CG irreps: orthonormal, invertible, norm-preserving and equivariant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamkit.physics.irreps import (
    cg_basis,
    irrep_degrees,
    irreps_to_subblock,
    irreps_to_subblock_torch,
    subblock_to_irreps,
    subblock_to_irreps_torch,
)
from hamkit.physics.rotation import random_rotation, shell_wigner_d

DEGREE_PAIRS = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 1), (4, 4)]


@pytest.mark.parametrize(("l1", "l2"), DEGREE_PAIRS)
def test_change_of_basis_is_orthogonal(l1, l2):
    stacked = np.concatenate([c.reshape(-1, 2 * big_l + 1) for big_l, c in cg_basis(l1, l2)], axis=1)
    size = (2 * l1 + 1) * (2 * l2 + 1)
    assert stacked.shape == (size, size)
    np.testing.assert_allclose(stacked.T @ stacked, np.eye(size), atol=1e-12)


@pytest.mark.parametrize(("l1", "l2"), DEGREE_PAIRS)
def test_invertible_norm_preserving_and_equivariant(l1, l2, rng):
    block = rng.standard_normal((3, 2 * l1 + 1, 2 * l2 + 1))
    irreps = subblock_to_irreps(block, l1, l2)
    assert sorted(irreps) == list(irrep_degrees(l1, l2))
    np.testing.assert_allclose(irreps_to_subblock(irreps, l1, l2), block, atol=1e-12)
    norms = sum(np.sum(x**2, axis=-1) for x in irreps.values())
    np.testing.assert_allclose(norms, np.einsum("bij,bij->b", block, block), rtol=1e-12)

    rotation = random_rotation(rng)
    rotated = shell_wigner_d(l1, rotation) @ block @ shell_wigner_d(l2, rotation).T
    rotated_irreps = subblock_to_irreps(rotated, l1, l2)
    for big_l, x in irreps.items():
        expected = x @ shell_wigner_d(big_l, rotation).T
        np.testing.assert_allclose(rotated_irreps[big_l], expected, atol=1e-12)


def test_equivariance_test_can_fail(rng):
    """Negative control: the transposed rotation on one side breaks equivariance."""
    rotation = random_rotation(rng)
    block = rng.standard_normal((3, 5))
    wrong = shell_wigner_d(1, rotation) @ block @ shell_wigner_d(2, rotation)  # missing .T
    got = subblock_to_irreps(wrong, 1, 2)[2]
    expected = shell_wigner_d(2, rotation) @ subblock_to_irreps(block, 1, 2)[2]
    assert np.abs(got - expected).max() > 1e-3


@pytest.mark.parametrize(("l1", "l2"), [(1, 2), (3, 3)])
def test_torch_matches_numpy_and_is_differentiable(l1, l2, rng):
    block = rng.standard_normal((4, 2 * l1 + 1, 2 * l2 + 1))
    irreps_np = subblock_to_irreps(block, l1, l2)
    tensor = torch.tensor(block, requires_grad=True)
    irreps_t = subblock_to_irreps_torch(tensor, l1, l2)
    for big_l in irreps_np:
        assert irreps_t[big_l].dtype == torch.float64
        np.testing.assert_allclose(irreps_t[big_l].detach().numpy(), irreps_np[big_l], atol=1e-13)
    back = irreps_to_subblock_torch(irreps_t, l1, l2)
    np.testing.assert_allclose(back.detach().numpy(), block, atol=1e-12)
    back.square().sum().backward()
    np.testing.assert_allclose(tensor.grad.numpy(), 2 * block, atol=1e-12)


def test_shape_errors():
    with pytest.raises(ValueError, match="does not match"):
        subblock_to_irreps(np.zeros((3, 3)), 1, 2)
    with pytest.raises(ValueError, match="do not match"):
        irreps_to_subblock({1: np.zeros(3)}, 1, 1)
