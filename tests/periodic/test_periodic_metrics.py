"""Metrics of periodic predictions: block errors and bands over a k-mesh."""

from __future__ import annotations

import numpy as np
import pytest

from hamkit.data.graph import graph_layout, structure_graph
from hamkit.data.structure import HamiltonianRecord
from hamkit.engine.evaluation import occupied_bands, record_metrics
from hamkit.physics.blocks import pack_blocks, unpack_blocks
from hamkit.physics.periodic_metrics import band_errors_on_mesh, default_mesh

from .conftest import honeycomb


def _record(spd_basis, seed=0, cutoff=4.0):
    """A crystal whose H(R) and S(R) are the model-independent, Hermitian-paired stacks of a graph."""
    structure = honeycomb(seed)
    graph = structure_graph(structure, spd_basis, cutoff)
    layout, translations = graph_layout(graph, spd_basis)
    rng = np.random.default_rng(seed)
    n = layout.n_orbitals
    lookup = {tuple(r): k for k, r in enumerate(translations.tolist())}
    h = np.zeros((len(translations), n, n))
    s = np.zeros_like(h)
    for k, r in enumerate(translations.tolist()):
        partner = lookup[tuple(-v for v in r)]
        if partner < k:
            continue
        scale = np.exp(-np.linalg.norm(np.asarray(r)))
        block = rng.normal(size=(n, n)) * 0.05 * scale
        h[k] = block if partner != k else 0.5 * (block + block.T)
        h[partner] = h[k].T
        overlap = rng.normal(size=(n, n)) * 0.02 * scale
        s[k] = overlap if partner != k else 0.5 * (overlap + overlap.T)
        s[partner] = s[k].T
    home = lookup[(0, 0, 0)]
    h[home] += np.diag(np.linspace(-1.0, 1.0, n))
    s[home] += np.eye(n)
    h, s = (unpack_blocks(pack_blocks(m, layout), layout) for m in (h, s))  # only the graph's blocks
    record = HamiltonianRecord(structure, h, s, key="crystal", translations=translations,
                               extras={"n_electrons": n})
    return record, graph, layout, translations


def test_a_perfect_prediction_scores_zero_and_full_overlap(spd_basis):
    record, graph, layout, _ = _record(spd_basis)
    metrics = record_metrics(record, graph, pack_blocks(record.hamiltonian, layout), spd_basis)
    assert metrics["h_mae"] == metrics["h_mae_diag"] == metrics["h_mae_offdiag"] == 0.0
    assert metrics["eps_occ_mae"] < 1e-6 and metrics["gap_mae"] < 1e-6
    assert metrics["psi_cos"] == pytest.approx(100.0, abs=1e-8)


def test_adding_c_times_s_shifts_every_band_by_c(spd_basis):
    """H + c S has the eigenvalues e + c: every band error is exactly c, the gap error zero."""
    record, graph, layout, translations = _record(spd_basis, seed=1)
    c = 1e-3
    values = pack_blocks(record.hamiltonian + c * record.overlap, layout)
    metrics = record_metrics(record, graph, values, spd_basis)
    assert metrics["eps_occ_mae"] == pytest.approx(c * 1e6, rel=1e-6)
    assert metrics["homo_mae"] == pytest.approx(c * 1e6, rel=1e-6)
    assert metrics["lumo_mae"] == pytest.approx(c * 1e6, rel=1e-6)
    assert metrics["gap_mae"] < 1e-3
    assert metrics["psi_cos"] == pytest.approx(100.0, abs=1e-6)
    assert metrics["h_mae"] > 0


def test_on_site_and_hopping_errors_are_separated(spd_basis):
    record, graph, layout, _ = _record(spd_basis, seed=2)
    values = pack_blocks(record.hamiltonian, layout).copy()
    n_atoms = record.structure.n_atoms
    values[layout.offsets[n_atoms]:] += 2e-6  # every hopping and self-image block
    metrics = record_metrics(record, graph, values, spd_basis)
    assert metrics["h_mae_diag"] == 0.0
    assert metrics["h_mae_offdiag"] == pytest.approx(2.0, rel=1e-6)


def test_occupied_bands_from_electrons_or_fermi_level(spd_basis):
    record, *_ = _record(spd_basis)
    assert occupied_bands(record) == record.hamiltonian.shape[-1] // 2
    from dataclasses import replace

    by_fermi = replace(record, extras={"fermi_level": 0.0})
    assert 0 < occupied_bands(by_fermi) < record.hamiltonian.shape[-1]
    assert occupied_bands(replace(record, extras={})) is None


def test_mesh_follows_periodic_directions():
    assert default_mesh((True, True, False)) == (4, 4, 1)
    with pytest.raises(ValueError, match="occupied bands"):
        t = np.zeros((1, 3), dtype=np.int64)
        band_errors_on_mesh((t, np.eye(2)[None]), (t, np.eye(2)[None]), (t, np.eye(2)[None]), 3, (1, 1, 1))
