"""The ``trace_mlp`` invariant encoder: invariance, dtypes, double backward, config."""

from __future__ import annotations

import pydantic
import pytest
import torch

from hamkit.components import BuildContext, Declared
from hamkit.errors import HamkitError
from hamkit_plugins.tracegrad.encoder import TraceMLPConfig, TraceMLPEncoder

PARITY_IRREPS = "8x0e+4x1o+2x2e+2x1e+1x0o+1x3o"  # both parities, 1o next to 1e
EVEN_IRREPS = "8x0e+4x1e+2x2e+2x3e+1x4e"  # SO(3)-only, QHNet-style
ALL_IRREPS = [PARITY_IRREPS, EVEN_IRREPS]


def invariance_error(tg, encoder, irreps: str, improper: bool, seed: int = 0) -> float:
    """max |z(D f) - z(f)| for a random rotation (times -1 when improper)."""
    features = tg.random_features(irreps, seed=seed)
    rotated = features @ tg.representation(irreps, tg.random_orthogonal(improper, seed)).T
    return (encoder(rotated) - encoder(features)).abs().max().item()


@pytest.mark.parametrize("irreps", ALL_IRREPS)
@pytest.mark.parametrize("improper", [False, True])
@pytest.mark.parametrize("project_channels", [None, 3])
def test_invariant_under_rotations_and_inversion(tg, irreps, improper, project_channels):
    encoder = tg.small_encoder(irreps, project_channels=project_channels)
    for seed in range(3):
        assert invariance_error(tg, encoder, irreps, improper, seed) < 1e-10


def test_invariance_check_can_fail(tg):
    """Negative control: an encoder using a raw l=1 component is caught by the same check."""
    encoder = tg.small_encoder(PARITY_IRREPS)

    def broken(features):
        return encoder(features) + features[..., 8:9]  # first component of the first 1o

    assert invariance_error(tg, broken, PARITY_IRREPS, improper=False) > 1e-3


def test_opposite_parity_channels_are_not_paired(tg):
    """1o . 1e is a pseudo-scalar: pairing them would break invariance under -R only."""
    irreps = "2x1o+2x1e"
    encoder = tg.small_encoder(irreps)
    assert encoder.contraction.num_pairs == 3 + 3  # two separate 2x2 upper triangles
    assert invariance_error(tg, encoder, irreps, improper=True) < 1e-10


def test_float32_and_float64(tg):
    for name, dtype, tolerance in (("float32", torch.float32, 1e-4), ("float64", torch.float64, 1e-10)):
        context = BuildContext(dtype=name, declared=Declared(irreps=PARITY_IRREPS))
        encoder = TraceMLPEncoder.from_config(TraceMLPConfig(num_scalars=16, hidden=[16]), context)
        assert all(p.dtype == dtype for p in encoder.parameters())
        features = tg.random_features(PARITY_IRREPS).to(dtype)
        matrix = tg.representation(PARITY_IRREPS, tg.random_orthogonal(True, 1)).to(dtype)
        z = encoder(features)
        assert z.dtype == dtype and z.shape == (6, 16)
        assert (encoder(features @ matrix.T) - z).abs().max().item() < tolerance


def test_twice_differentiable(tg):
    irreps = "2x0e+1x1o+1x2e"
    encoder = tg.small_encoder(irreps, num_scalars=4, hidden=[3])
    features = tg.random_features(irreps, n=2).requires_grad_(True)
    assert torch.autograd.gradgradcheck(encoder, (features,))


def test_decode_traces(tg):
    encoder = tg.small_encoder(PARITY_IRREPS, num_traces=5)
    z = encoder(tg.random_features(PARITY_IRREPS))
    assert encoder.decode_traces(z).shape == (6, 5)
    with pytest.raises(HamkitError, match="num_traces"):
        tg.small_encoder(PARITY_IRREPS).decode_traces(z)


def test_num_traces_comes_from_the_context():
    context = BuildContext(dtype="float64", declared=Declared(irreps="4x0e+2x1o", num_traces=36))
    assert TraceMLPEncoder.from_config(TraceMLPConfig(), context).num_traces == 36
    assert TraceMLPEncoder.from_config(TraceMLPConfig(num_traces=4), context).num_traces == 4


def test_irreps_from_context_or_clear_error():
    context = BuildContext(dtype="float64", declared=Declared(irreps="4x0e+2x1o"))
    encoder = TraceMLPEncoder.from_config(TraceMLPConfig(), context)
    assert encoder.irreps_in == "4x0e+2x1o" and encoder.num_invariants == 256
    with pytest.raises(HamkitError, match="irreps_in"):
        TraceMLPEncoder.from_config(TraceMLPConfig(), BuildContext())
    with pytest.raises(HamkitError, match="cannot parse"):
        TraceMLPEncoder.from_config(TraceMLPConfig(irreps_in="4xq"), BuildContext())
    with pytest.raises(HamkitError, match="components"):
        encoder(torch.zeros(2, 5, dtype=torch.float64))


def test_config_rejects_unknown_and_invalid_options():
    with pytest.raises(pydantic.ValidationError):
        TraceMLPConfig(num_scalar=8)
    with pytest.raises(pydantic.ValidationError):
        TraceMLPConfig(hidden=[])
    with pytest.raises(pydantic.ValidationError):
        TraceMLPConfig(hidden=[8, 0])
    assert TraceMLPConfig().num_scalars == 256 and TraceMLPConfig().hidden == [256, 256]
