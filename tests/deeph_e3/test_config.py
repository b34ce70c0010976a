"""deeph_e3 options: defaults, irreps resolution, errors, registration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import hamkit_plugins.deeph_e3 as deeph_e3_plugin
from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit.plugin_host import load_plugins
from hamkit_plugins.deeph_e3 import DeepHE3Config, DeepHE3Featurizer

from tests.deeph_e3.tiny_model import TINY, make_featurizer


def test_defaults_match_deeph_e3():
    config = DeepHE3Config()
    assert config.node_irreps == "64x0e+32x1o+16x2e+8x3o+8x4e"
    assert (config.num_blocks, config.sh_lmax, config.num_radial, config.cutoff) == (3, 4, 128, 7.2)
    assert config.parity == "physical" and config.both_parities


def test_irreps_resolution():
    so3 = DeepHE3Config(parity="so3", edge_irreps="8x0e+4x1o+4x1e+2x2o")
    node, edge = so3.resolved_irreps()
    assert str(node) == "64x0e+32x1e+16x2e+8x3e+8x4e"
    assert str(edge) == "8x0e+8x1e+2x2e"  # relabelled even, equal degrees merged
    natural = DeepHE3Config(both_parities=False).resolved_irreps()[0]
    assert str(natural) == "64x0e+32x1o+16x2e+8x3o+8x4e"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"hiden": 3}, "Extra inputs"),
        ({"node_irreps": "4x0e+2x1q"}, "cannot parse node_irreps"),
        ({"node_irreps": "4x1o+2x2e"}, "no 0e channels"),
        ({"edge_irreps": "4x0o+2x1o", "both_parities": False}, "edge_irreps .* no 0e"),
        ({"node_irreps": "4x0e+1x12e"}, "at most 11"),
        ({"parity": "so3", "both_parities": True}, "both_parities applies to parity: physical"),
        ({"parity": "o3"}, "parity"),
        ({"num_blocks": 0}, "num_blocks"),
        ({"cutoff": -1.0}, "cutoff"),
    ],
)
def test_config_rejects(options, message):
    with pytest.raises(ValidationError, match=message):
        DeepHE3Config(**options)


def test_so3_with_default_both_parities_is_fine():
    assert DeepHE3Config(parity="so3").both_parities  # default, ignored with so3


def test_species_are_required_and_checked(svp, water_graph):
    with pytest.raises(HamkitError, match="species"):
        DeepHE3Featurizer.from_config(DeepHE3Config(**TINY), BuildContext())
    only_basis = DeepHE3Featurizer.from_config(DeepHE3Config(**TINY), BuildContext(basis=svp))
    assert only_basis.species == (1, 6, 8)
    featurizer = DeepHE3Featurizer.from_config(DeepHE3Config(**TINY), BuildContext(species=(1, 6)))
    with pytest.raises(HamkitError, match=r"Z=\[8\]"):
        featurizer(water_graph)


def test_registered_through_hooks():
    host = load_plugins(
        extra_plugins={"deeph_e3": deeph_e3_plugin}, environ={"HAMKIT_PLUGINS": "deeph_e3"}
    )
    assert host.problems == []
    record = host.registry.get("featurizer", "deeph_e3")
    assert record.provider.plugin == "deeph_e3"
    assert record.summary.startswith("DeepH-E3 backbone")
    options = {option["name"]: option for option in record.options()}
    assert options["cutoff"]["default"] == 7.2 and options["parity"]["description"]
    assert set(options) == set(DeepHE3Config.model_fields)


def test_parameter_count_scales_with_species(svp):
    """Self-connections: one map per element (nodes) and per ordered element pair (edges)."""
    featurizer = make_featurizer(svp)
    edge_sc = featurizer.blocks[0].edge_update.self_connection.weights[0]
    node_sc = featurizer.blocks[0].node_update.self_connection.weights[0]
    assert edge_sc.shape[0] == 9 and node_sc.shape[0] == 3


RECIPE = """\
data:
  dataset: {name: hamkit, path: "embedded:water"}
model:
  featurizer:
    name: deeph_e3
    parity: so3
    both_parities: true
  head: {name: cg_expansion}
loss:
  - {name: h_mse, weight: 1.0}
train: {steps: 1, batch_size: 1, lr: 1.0e-3}
"""


def test_recipe_reports_impossible_combination_with_its_line(tmp_path):
    """Through a recipe, a Config error is a HamkitError naming the file, line and option."""
    from hamkit.recipe import load_recipe

    host = load_plugins(extra_plugins={"deeph_e3": deeph_e3_plugin}, environ={})
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    with pytest.raises(HamkitError, match=r"recipe.yaml:\d+: model.featurizer.*both_parities applies"):
        load_recipe(path, registry=host.registry)
    path.write_text(RECIPE.replace("    both_parities: true\n", ""))
    recipe = load_recipe(path, registry=host.registry)
    assert recipe.component("model", "featurizer").config.parity == "so3"
