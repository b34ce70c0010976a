"""The ``gradient`` and ``gate`` inducers: equivariance, no_grad, double backward, init scale."""

from __future__ import annotations

import pydantic
import pytest
import torch
from torch import nn

from hamkit.components import BuildContext, Declared
from hamkit.errors import HamkitError
from hamkit_plugins.tracegrad.encoder import TraceMLPConfig, TraceMLPEncoder
from hamkit_plugins.tracegrad.gate import GateConfig, GateInducer
from hamkit_plugins.tracegrad.gradient import GradientConfig, GradientInducer

PARITY_IRREPS = "8x0e+4x1o+2x2e+2x1e+1x0o+1x3o"  # both parities, 1o next to 1e
EVEN_IRREPS = "8x0e+4x1e+2x2e+2x3e+1x4e"  # SO(3)-only, QHNet-style
DEEPH_IRREPS = "64x0e+32x1o+16x2e+8x3o+8x4e"  # DeepH-E3 default width
ALL_IRREPS = [PARITY_IRREPS, EVEN_IRREPS]
COMBINES = ["residual", "norm_scaled"]


def gradient_inducer(irreps: str, **options) -> GradientInducer:
    return GradientInducer(GradientConfig(irreps_in=irreps, **options)).double()


def equivariance_error(tg, induce, irreps: str, improper: bool, seed: int = 0) -> float:
    """max |induce(D f) - D induce(f)| for a random rotation (times -1 when improper)."""
    features = tg.random_features(irreps, seed=seed)
    matrix = tg.representation(irreps, tg.random_orthogonal(improper, seed))
    return (induce(features @ matrix.T) - induce(features) @ matrix.T).abs().max().item()


@pytest.mark.parametrize("irreps", ALL_IRREPS)
@pytest.mark.parametrize("combine", COMBINES)
@pytest.mark.parametrize("training", [True, False])
def test_gradient_inducer_is_equivariant(tg, irreps, combine, training):
    encoder = tg.small_encoder(irreps)
    inducer = gradient_inducer(irreps, combine=combine, init_scale=1.0).train(training)
    for improper in (False, True):
        assert equivariance_error(tg, lambda f: inducer(f, encoder), irreps, improper) < 1e-10


def test_equivariance_check_can_fail(tg):
    """Negative control: a broken encoder (raw l=1 component in z) breaks the inducer's output."""
    encoder = tg.small_encoder(PARITY_IRREPS)

    def broken(features):
        return encoder(features) + features[..., 8:9]  # first component of the first 1o block

    inducer = gradient_inducer(PARITY_IRREPS, combine="residual", init_scale=1.0)
    assert equivariance_error(tg, lambda f: inducer(f, broken), PARITY_IRREPS, improper=False) > 1e-3


@pytest.mark.parametrize("irreps", ALL_IRREPS)
def test_gate_inducer_is_equivariant(tg, irreps):
    inducer = GateInducer(GateConfig(irreps_in=irreps, hidden=[16, 16], init_scale=1.0)).double()
    for improper in (False, True):
        assert equivariance_error(tg, lambda f: inducer(f, None), irreps, improper) < 1e-10


@pytest.mark.parametrize("combine", COMBINES)
def test_works_under_no_grad_and_refuses_inference_mode(tg, combine):
    encoder = tg.small_encoder(PARITY_IRREPS)
    inducer = gradient_inducer(PARITY_IRREPS, combine=combine)
    features = tg.random_features(PARITY_IRREPS)
    expected = inducer(features, encoder)
    inducer.eval()
    with torch.no_grad():
        out = inducer(features, encoder)
    assert not out.requires_grad
    assert torch.allclose(out, expected, atol=1e-13)
    with torch.inference_mode(), pytest.raises(HamkitError, match="inference_mode"):
        inducer(features, encoder)


@pytest.mark.parametrize("combine", COMBINES)
def test_training_gradients_reach_encoder_scale_and_producer(tg, combine):
    """Encoder parameters act on the output only through v = dz/df: nonzero grads need double backward."""
    encoder = tg.small_encoder(PARITY_IRREPS)
    inducer = gradient_inducer(PARITY_IRREPS, combine=combine).train()
    inputs = tg.random_features(PARITY_IRREPS)
    producer = nn.Linear(inputs.shape[1], inputs.shape[1]).double()
    out = inducer(producer(inputs), encoder)
    out.square().sum().backward()
    named = [*encoder.named_parameters(), *producer.named_parameters(), *inducer.named_parameters()]
    assert any(name.endswith("residual_scale.value") for name, _ in named) == (combine == "residual")
    for name, parameter in named:
        assert parameter.grad is not None and parameter.grad.abs().max() > 0, name
        assert torch.isfinite(parameter.grad).all(), name


def test_training_gradient_is_exact(tg):
    """Finite-difference checks of the double-backward path, w.r.t. f and an encoder weight."""
    irreps = "2x0e+1x1o+1x2e"
    encoder = tg.small_encoder(irreps, num_scalars=4, hidden=[3])
    inducer = gradient_inducer(irreps, combine="residual", init_scale=1.0).train()
    features = tg.random_features(irreps, n=2).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: inducer(f, encoder), (features,))

    params = dict(encoder.named_parameters())

    def as_function_of_weight(weight):
        def call(f):
            return torch.func.functional_call(
                encoder, {**params, "contraction.linear.weight": weight}, (f,)
            )

        return inducer(features.detach(), call)

    weight = params["contraction.linear.weight"].detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(as_function_of_weight, (weight,))


@pytest.mark.parametrize("irreps", [*ALL_IRREPS, DEEPH_IRREPS])
def test_induced_part_starts_small(tg, irreps):
    """METHOD.md section 4: |induced| must start well below |f| (plain f + v gave ~2x)."""
    encoder = TraceMLPEncoder(TraceMLPConfig(irreps_in=irreps)).double()  # default sizes
    features = tg.random_features(irreps, n=64)
    for combine, bound in (("residual", 0.1), ("norm_scaled", 0.2 + 1e-6)):
        out = gradient_inducer(irreps, combine=combine)(features, encoder)
        ratio = (out - features).norm(dim=-1) / features.norm(dim=-1)
        assert ratio.max() < bound, (combine, ratio.max().item())
    out = GateInducer(GateConfig(irreps_in=irreps)).double()(features)
    assert ((out - features).norm(dim=-1) / features.norm(dim=-1)).max() < 0.2


def test_norm_scaled_ratio_is_exact_per_block(tg):
    inducer = gradient_inducer("3x0e+2x1o", combine="norm_scaled", scale=0.2)
    features = tg.random_features("3x0e+2x1o", n=4)
    induced = inducer(features, tg.small_encoder("3x0e+2x1o")) - features
    for block in (slice(0, 3), slice(3, 9)):
        ratio = induced[:, block].norm(dim=-1) / features[:, block].norm(dim=-1)
        assert torch.allclose(ratio, torch.full_like(ratio, 0.2), rtol=1e-3)


def test_shapes_irreps_and_errors(tg):
    features = tg.random_features(PARITY_IRREPS)
    context = BuildContext(dtype="float64", declared=Declared(irreps=PARITY_IRREPS))
    gradient = GradientInducer.from_config(GradientConfig(), context)
    gate = GateInducer.from_config(GateConfig(hidden=[8]), context)
    assert gradient.irreps_in == gate.irreps_in == PARITY_IRREPS
    assert gradient(features, tg.small_encoder(PARITY_IRREPS)).shape == features.shape
    assert gate(features, None).shape == features.shape
    with pytest.raises(HamkitError, match="invariant encoder"):
        gradient(features, None)
    with pytest.raises(HamkitError, match="irreps"):
        GradientInducer.from_config(GradientConfig(combine="norm_scaled"), BuildContext())
    GradientInducer.from_config(GradientConfig(combine="residual"), BuildContext())  # needs none
    with pytest.raises(HamkitError, match="0e"):
        GateInducer(GateConfig(irreps_in="2x1o+1x0o"))
    with pytest.raises(HamkitError, match="irreps_in"):
        GateInducer.from_config(GateConfig(), BuildContext())
    with pytest.raises(HamkitError, match="components"):
        gate(features[:, :-1], None)


def test_fixed_residual_scale_is_not_a_parameter():
    inducer = gradient_inducer(PARITY_IRREPS, combine="residual", learnable_scale=False)
    assert list(inducer.parameters()) == []


def test_configs_reject_unknown_fields():
    for config in (GradientConfig, GateConfig):
        with pytest.raises(pydantic.ValidationError):
            config(scales=0.3)
    with pytest.raises(pydantic.ValidationError):
        GradientConfig(combine="sum")
