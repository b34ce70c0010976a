"""Shared fixtures of the model tests (session-scoped: graphs and a tiny float64 model)."""

from __future__ import annotations

import pytest

from hamkit.data.basis import OrbitalBasis
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl, svp_like_basis, water

from tests.model.tiny_qhnet import build_model


@pytest.fixture(scope="session")
def basis() -> OrbitalBasis:
    return svp_like_basis()


@pytest.fixture(scope="session")
def water_graph(basis):
    return molecule_graph(water(), basis)


@pytest.fixture(scope="session")
def ch2oh_graph(basis):
    return molecule_graph(hydroxymethyl(), basis)


@pytest.fixture(scope="session")
def tiny_model(basis):
    """(featurizer, head, model) in float64 on the def2-SVP-shaped basis."""
    return build_model(basis)


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny tensors: intra-op threads only add overhead (and stall on a busy machine)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
