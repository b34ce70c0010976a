"""Trace labels: values, rotation invariance, normalizations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hamkit.data import OrbitalBasis
from hamkit.physics.blocks import subblock_slices
from hamkit.physics.irreps import subblock_to_irreps
from hamkit.physics.orbital_order import matrix_to_canonical
from hamkit.physics.rotation import random_rotation, rotate_operator
from hamkit.physics.traces import block_traces, normalize_traces, pair_traces


def test_traces_are_invariant_under_a_recomputed_rotation(build_mol, formaldehyde, rng):
    rotation = random_rotation(rng)
    mol, mol_rotated = build_mol(formaldehyde, "def2-svp"), build_mol(formaldehyde, "def2-svp", rotation)
    basis = OrbitalBasis.from_pyscf_mol(mol)
    numbers = mol.atom_charges()
    hcore = lambda m: matrix_to_canonical(m.intor("int1e_kin") + m.intor("int1e_nuc"), numbers, basis, "pyscf")  # noqa: E731
    before, after = pair_traces(hcore(mol), numbers, basis), pair_traces(hcore(mol_rotated), numbers, basis)
    assert len(before) == 16 and before[(0, 1)].shape == (36,) and before[(2, 3)].shape == (9,)
    for pair in before:
        np.testing.assert_allclose(after[pair], before[pair], atol=1e-10)
    # Control: the elements themselves are not invariant.
    assert np.abs(hcore(mol_rotated) - hcore(mol)).max() > 1e-2


def test_trace_equals_squared_norm_and_irrep_norms(rng):
    basis = OrbitalBasis.from_shells({1: [0, 1], 8: [0, 1, 2]})
    block = rng.standard_normal((9, 4))
    traces = block_traces(block, 8, 1, basis)
    subs = subblock_slices(8, 1, basis)
    for value, sub in zip(traces, subs):
        b = block[sub.rows, sub.cols]
        assert value == pytest.approx(np.trace(b @ b.T))
        irreps = subblock_to_irreps(b, sub.l_row, sub.l_col)
        assert value == pytest.approx(sum(float(x @ x) for x in irreps.values()))


def test_rotating_analytically_keeps_traces(rng):
    basis = OrbitalBasis.from_shells({1: [0, 1, 2], 6: [0, 1, 2, 3]})
    numbers = [6, 1, 6]
    matrix = rng.standard_normal((2,) + (2 * 16 + 9,) * 2)
    rotated = rotate_operator(matrix, numbers, basis, random_rotation(rng))
    before, after = pair_traces(matrix, numbers, basis), pair_traces(rotated, numbers, basis)
    for pair in before:
        np.testing.assert_allclose(after[pair], before[pair], rtol=1e-11)


def test_normalizations(rng):
    traces = rng.uniform(0, 2, size=(5, 12))
    layer = normalize_traces(traces, "layer_norm")
    np.testing.assert_allclose(layer.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(layer.var(-1), 1, atol=1e-9)
    np.testing.assert_allclose(normalize_traces(traces, "log", eps=1e-3), np.log(traces + 1e-3))
    assert normalize_traces(traces, "none") is traces
    assert np.isfinite(normalize_traces(np.zeros(4), "log")).all()
    np.testing.assert_array_equal(normalize_traces(np.array([3.0]), "layer_norm"), [0.0])
    for method in ("layer_norm", "log"):
        torch_result = normalize_traces(torch.from_numpy(traces), method)
        np.testing.assert_allclose(torch_result.numpy(), normalize_traces(traces, method), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown trace normalization"):
        normalize_traces(traces, "softmax")
