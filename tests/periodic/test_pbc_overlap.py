"""Real-space S(R) from two-centre integrals agrees with PySCF's Bloch overlap S(k)."""

from __future__ import annotations

import numpy as np

from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import graph_layout, structure_graph
from hamkit.data.pbc_cell import overlap_kpoints
from hamkit.data.pbc_overlap import real_space_overlap
from hamkit.physics.bloch import bloch_matrices

from .conftest import honeycomb

SZV = OrbitalBasis.from_shells({5: [0, 1], 7: [0, 1]}, name="gth-szv")


def test_bloch_sum_of_real_space_overlap_is_pyscfs_s_of_k():
    structure = honeycomb(5, displacement=0.05)
    graph = structure_graph(structure, SZV, 12.0)  # S decays below 1e-8 by then (2e-6 at 9 A)
    translations = graph_layout(graph, SZV)[1]
    overlap = real_space_overlap(structure, SZV, "gth-szv", "gth-pbe", translations)
    partner = {tuple(r): k for k, r in enumerate(translations.tolist())}
    for k, r in enumerate(translations.tolist()):
        np.testing.assert_array_equal(overlap[partner[tuple(-v for v in r)]], overlap[k].T)
    kpoints = np.array([[0.0, 0.0, 0.0], [0.21, 0.37, 0.0], [1 / 3, 1 / 3, 0.0]])
    expected = overlap_kpoints(structure, SZV, "gth-szv", "gth-pbe", kpoints)
    np.testing.assert_allclose(bloch_matrices(translations, overlap, kpoints), expected, atol=1e-7)
    # negative control: the ket translated the other way is a different (transposed) matrix set
    wrong = bloch_matrices(-translations, overlap, kpoints[1])
    assert np.abs(wrong - expected[1]).max() > 1e-3
