"""Fixtures of the mace featurizer tests: the def2-SVP basis from PySCF and small molecules."""

from __future__ import annotations

import pytest

from hamkit.data.basis import OrbitalBasis
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl, water


@pytest.fixture(scope="session")
def svp() -> OrbitalBasis:
    """def2-SVP for H, C, O, read from PySCF."""
    pytest.importorskip("pyscf")
    return OrbitalBasis.from_name("def2-svp", [1, 6, 8])


@pytest.fixture(scope="session")
def water_graph(svp):
    return molecule_graph(water(), svp)


@pytest.fixture(scope="session")
def ch2oh_graph(svp):
    """5-atom C, O, H3 molecule, fully connected."""
    return molecule_graph(hydroxymethyl(), svp)


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny tensors: intra-op threads only add overhead (and stall on a busy machine)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
