"""Shared helpers for the TraceGrad tests (float64 throughout), as the ``tg`` fixture.

The suite runs with ``--import-mode=importlib``, so test modules cannot import this
file; constants used in ``parametrize`` are repeated in the test modules.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import hamkit  # noqa: F401  (e3nn import fix first)
from e3nn import o3

from hamkit_plugins.tracegrad.encoder import TraceMLPConfig, TraceMLPEncoder


def small_encoder(irreps: str, **options) -> TraceMLPEncoder:
    """A small float64 ``trace_mlp`` encoder."""
    options = {"num_scalars": 32, "hidden": [32, 16], **options}
    return TraceMLPEncoder(TraceMLPConfig(irreps_in=irreps, **options)).double()


def random_orthogonal(improper: bool, seed: int) -> torch.Tensor:
    """A random rotation R (or -R when ``improper``), float64, shape (3, 3)."""
    torch.manual_seed(seed)
    rotation = o3.rand_matrix(dtype=torch.float64)
    return -rotation if improper else rotation


def representation(irreps: str, matrix: torch.Tensor) -> torch.Tensor:
    """D(R) of the irreps, parity included, shape (dim, dim)."""
    return o3.Irreps(irreps).D_from_matrix(matrix)


def random_features(irreps: str, n: int = 6, seed: int = 0) -> torch.Tensor:
    """Component-normalized random features, shape (n, dim)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, o3.Irreps(irreps).dim, generator=generator, dtype=torch.float64)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(1234)


@pytest.fixture
def tg() -> SimpleNamespace:
    """The helpers above: ``tg.small_encoder``, ``tg.random_features``, ..."""
    return SimpleNamespace(
        small_encoder=small_encoder,
        random_orthogonal=random_orthogonal,
        representation=representation,
        random_features=random_features,
    )
