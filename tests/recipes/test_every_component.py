"""Every registered featurizer, invariant encoder and inducer, at its default options, is
equivariant (invariant) in float64. New components are picked up automatically."""

from __future__ import annotations

import pytest
import torch

from e3nn import o3

from hamkit.components import BuildContext, Declared
from hamkit.plugin_host import load_plugins
from hamkit.testing.equivariance import assert_features_equivariant
from hamkit.testing.graphs import molecule_graph
from hamkit.testing.molecules import hydroxymethyl, svp_like_basis

REGISTRY = load_plugins(environ={}).registry
FEATURES = "6x0e+4x1o+4x1e+2x2e+2x2o+1x3o+1x4e"


def context(declared: Declared | None = None) -> BuildContext:
    basis = svp_like_basis()
    return BuildContext(species=tuple(basis.elements), basis=basis, dtype="float64",
                        declared=declared or Declared())


@pytest.mark.parametrize("name", REGISTRY.names("featurizer"))
def test_featurizer_is_equivariant(name):
    torch.manual_seed(0)
    record = REGISTRY.get("featurizer", name)
    featurizer = record.cls.from_config(record.config_class(), context()).double()
    graph = molecule_graph(hydroxymethyl(), svp_like_basis())
    report = assert_features_equivariant(featurizer, graph, n_rotations=2, n_permutations=1)
    print(f"{name}: {report}")


def rotated(features, irreps, seed):
    torch.manual_seed(seed)
    rotation = o3.rand_matrix(dtype=torch.float64)
    return features @ o3.Irreps(irreps).D_from_matrix(rotation).T


@pytest.mark.parametrize("name", REGISTRY.names("invariant_encoder"))
def test_invariant_encoder_is_invariant(name):
    torch.manual_seed(0)
    record = REGISTRY.get("invariant_encoder", name)
    encoder = record.cls.from_config(record.config_class(), context(Declared(irreps=FEATURES))).double()
    assert o3.Irreps(encoder.irreps_in) == o3.Irreps(FEATURES)  # declared from the context
    features = torch.randn(5, o3.Irreps(FEATURES).dim, dtype=torch.float64)
    assert torch.allclose(encoder(rotated(features, FEATURES, 1)), encoder(features), atol=1e-10)


@pytest.mark.parametrize("name", REGISTRY.names("inducer"))
def test_inducer_is_equivariant(name):
    torch.manual_seed(0)
    encoder_record = REGISTRY.get("invariant_encoder", REGISTRY.names("invariant_encoder")[0])
    ctx = context(Declared(irreps=FEATURES))
    encoder = encoder_record.cls.from_config(encoder_record.config_class(), ctx).double()
    record = REGISTRY.get("inducer", name)
    inducer = record.cls.from_config(record.config_class(), ctx).double().eval()
    assert o3.Irreps(inducer.irreps_in) == o3.Irreps(inducer.irreps_out) == o3.Irreps(FEATURES)
    features = torch.randn(5, o3.Irreps(FEATURES).dim, dtype=torch.float64)
    out = inducer(features, encoder)
    assert out.shape == features.shape
    expected = rotated(out, FEATURES, 2)
    assert torch.allclose(inducer(rotated(features, FEATURES, 2), encoder), expected, atol=1e-10)
