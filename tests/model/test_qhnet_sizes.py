"""qhnet's fused tensor product and the options that reproduce the reference QHNet's sizes."""

from __future__ import annotations

import pytest
import torch

from hamkit.components import BuildContext
from hamkit.engine.prepare import build_context, open_dataset
from hamkit.model import build_model
from hamkit.recipe import load_recipe
from hamkit.testing import assert_features_equivariant
from hamkit_plugins.qhnet import QHNetFeaturizer
from hamkit_plugins.qhnet.so3 import SO3TensorProduct

from tests.model.tiny_qhnet import TINY

CASES = [
    ("uvu", False, (4, 4, 4)), ("uvu", False, (2, 3, 4)), ("uvu", False, (3, 1, 2)),
    ("uuu", False, (4, 4, 4)), ("uuu", False, (2, 3, 4)), ("uuu", True, (3, 3, 3)), ("uuu", True, (1, 2, 0)),
]


def _inputs(tp: SO3TensorProduct, lmax1: int, lmax2: int, n: int = 5):
    generator = torch.Generator().manual_seed(1)

    def leaf(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()

    x = [leaf(n, tp.mul, 2 * l + 1) for l in range(lmax1 + 1)]
    y = [leaf(n, tp.mul if tp.mode == "uuu" else 1, 2 * l + 1) for l in range(lmax2 + 1)]
    weight = None if tp.weight is not None else leaf(n, tp.weight_numel)
    return x, y, weight


def _values_and_gradients(outputs, leaves):
    loss = sum((o * torch.cos(torch.arange(o.numel(), dtype=o.dtype)).reshape(o.shape)).sum() for o in outputs)
    gradients = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [o.detach() for o in outputs] + [
        torch.zeros_like(leaf) if g is None else g for g, leaf in zip(gradients, leaves)
    ]


@pytest.mark.parametrize("mode,internal,degrees", CASES)
def test_fused_product_equals_the_per_path_definition(mode, internal, degrees):
    """Values and gradients (inputs and weights) of the fused evaluation match the path loop."""
    torch.manual_seed(0)
    tp = SO3TensorProduct(*degrees, 3, mode, internal_weights=internal).double()
    x, y, weight = _inputs(tp, degrees[0], degrees[1])
    leaves = [*x, *y] + ([weight] if weight is not None else [tp.weight])
    fused = _values_and_gradients(tp(x, y, weight), leaves)
    by_path = _values_and_gradients(tp.forward_by_path(x, y, weight), leaves)
    for a, b in zip(fused, by_path, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_fused_product_check_catches_a_wrong_coefficient():
    """Negative control: one corrupted coefficient group makes the comparison fail."""
    torch.manual_seed(0)
    tp = SO3TensorProduct(2, 2, 2, 3, "uuu").double()
    x, y, weight = _inputs(tp, 2, 2)
    tp.group_cg.master[3] = tp.group_cg.master[3].flip(0)
    tp.group_cg.cache.clear()
    difference = max((a - b).abs().max() for a, b in zip(tp(x, y, weight), tp.forward_by_path(x, y, weight)))
    assert difference > 1e-3


def _featurizer(basis, **options):
    torch.manual_seed(0)
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype="float64")
    return QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**{**TINY, **options}), context)


def test_output_channels_project_the_outputs_and_stay_equivariant(basis, ch2oh_graph):
    featurizer = _featurizer(basis, hidden=6, output_channels=2)
    assert featurizer.node_irreps == featurizer.pair_irreps == "2x0e+2x1e+2x2e+2x3e+2x4e"
    assert featurizer.hidden_irreps == "6x0e+6x1e+6x2e+6x3e+6x4e"
    assert all(point.irreps == featurizer.hidden_irreps for point in featurizer.induction_points())
    features = featurizer(ch2oh_graph)
    assert features.node.shape[1] == features.pair.shape[1] == 2 * 25
    assert_features_equivariant(featurizer, ch2oh_graph, rtol=1e-12)


def test_without_output_channels_the_parameters_are_unchanged(basis):
    """No projection parameters unless asked for: checkpoints of earlier models still load."""
    plain = _featurizer(basis)
    assert not any(name.startswith(("self_output", "pair_output")) for name in plain.state_dict())
    projected = _featurizer(basis, output_channels=2)
    assert any(name.startswith("self_output") for name in projected.state_dict())


def test_pair_layers_without_the_edge_product(basis, water_graph):
    with_edge = _featurizer(basis)
    without = _featurizer(basis, pair_edge_product=False)
    assert all(block.pair_layer is None or block.pair_layer.tp_edge is None for block in without.blocks)
    assert sum(p.numel() for p in without.parameters()) < sum(p.numel() for p in with_edge.parameters())
    assert_features_equivariant(without, water_graph, rtol=1e-12)


def test_reference_size_recipe_has_the_reference_widths():
    """128 channels to l = 4, five layers, self/pair layers in the last two at 128 channels,
    32-channel outputs, 640-wide gates; 10-25 M parameters (the reference: 20.4 M, 0.25 M of
    them unused, 8.2 M in norm-gate MLPs of its self/pair layers, which hamkit's lack)."""
    recipe = load_recipe("recipes/qhnet_reference_size.yaml")
    config = recipe.component("model", "featurizer").config
    assert (config.hidden, config.lmax, config.sh_lmax, config.num_layers) == (128, 4, 4, 5)
    assert (config.pair_start_layer, config.bottleneck, config.output_channels) == (4, 128, 32)
    assert (config.radial_hidden, config.gate_hidden, config.pair_edge_product) == (128, 640, False)
    assert recipe.sections.train.ema_start > 0
    model = build_model(recipe, build_context(open_dataset(recipe), "float32"))
    assert 10e6 < sum(p.numel() for p in model.parameters()) < 25e6
    assert sum(block.pair_layer is not None for block in model.featurizer.blocks) == 2


@pytest.mark.slow
def test_compiled_products_match_eager(basis, water_graph):
    """``compile: true`` (torch.compile of the tensor products) gives the eager values and
    gradients, in float64 to 1e-10 (slow: inductor compiles for ~2 minutes on 2 cores)."""
    eager = _featurizer(basis, hidden=3, num_layers=2, pair_start_layer=2)
    compiled = _featurizer(basis, hidden=3, num_layers=2, pair_start_layer=2, compile=True)
    compiled.load_state_dict(eager.state_dict())
    results = []
    for model in (eager, compiled):
        model.zero_grad()
        features = model(water_graph)
        (features.node.square().sum() + features.pair.sin().sum()).backward()
        results.append([features.node.detach(), features.pair.detach()]
                       + [p.grad for p in model.parameters() if p.grad is not None])
    assert len(results[0]) == len(results[1])
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
