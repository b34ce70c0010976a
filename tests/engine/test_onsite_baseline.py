"""The on-site baseline: invariant, placed exactly on the on-site blocks of a batch."""

from __future__ import annotations

import numpy as np
import torch

from hamkit.data.graph import labelled_graph
from hamkit.engine.batches import collate
from hamkit.model.baseline import OnsiteBaseline, invariant_part, mean_onsite_blocks
from hamkit.physics.blocks import PackedBlockLayout, unpack_blocks
from hamkit.physics.rotation import orbital_rotation_matrix, random_rotation
from hamkit_plugins.datasets import open_dataset


def test_invariant_part_is_rotation_invariant():
    dataset = open_dataset("embedded:qm9_mini", limit=3)
    basis = dataset.basis
    z = 6
    n = basis.n_orbitals(z)
    block = np.random.default_rng(0).normal(size=(n, n))
    block = block + block.T
    base = invariant_part(block, z, basis)
    rotation = orbital_rotation_matrix(np.array([z]), basis, random_rotation(np.random.default_rng(1)))
    assert np.allclose(rotation @ base @ rotation.T, base, atol=1e-12)
    assert not np.allclose(rotation @ block @ rotation.T, block, atol=1e-3)  # control


def test_baseline_lands_on_the_onsite_blocks_of_a_batch():
    dataset = open_dataset("embedded:qm9_mini", limit=4)
    basis = dataset.basis
    means = mean_onsite_blocks(dataset, basis)
    baseline = OnsiteBaseline(basis, means).double()
    records = [dataset[1], dataset[3]]
    graphs = [labelled_graph(record, basis) for record in records]
    batch = collate(graphs, torch.float64, torch.device("cpu"))
    added = baseline(torch.zeros_like(batch.hamiltonian), batch).numpy()
    sizes = [graph.hamiltonian.numel() for graph in graphs]
    for record, graph, values in zip(records, graphs, np.split(added, np.cumsum(sizes)[:-1])):
        numbers = record.structure.numbers
        layout = PackedBlockLayout.build(numbers, basis, graph.block_index.T.tolist())
        matrix = unpack_blocks(values, layout)
        offsets = basis.atom_orbital_offsets(numbers)
        expected = np.zeros_like(matrix)
        for atom, z in enumerate(numbers):
            expected[offsets[atom]:offsets[atom + 1], offsets[atom]:offsets[atom + 1]] = means[int(z)]
        assert np.array_equal(matrix, expected)
