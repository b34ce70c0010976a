"""The assembler checks the irreps each stage declares, citing the recipe line (issue 12).

A working pairing builds; a stage whose declared irreps do not fit its neighbours fails
at build time with the recipe file and line of that stage, and both irreps (negative
controls: an inducer that changes its irreps, an encoder or inducer set to other input
irreps, a head that needs other irreps, components that declare nothing).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest

from hamkit.components import BuildContext, ComponentConfig, Head, Inducer
from hamkit.errors import HamkitError
from hamkit.model import build_model
from hamkit.model.contracts import same_irreps
from hamkit.plugin_host import load_plugins
from hamkit.recipe import load_recipe
from hamkit.registry import Provider, Registrar, Registry
from hamkit.testing.molecules import svp_like_basis
from hamkit_plugins.heads import CGExpansionHead
from hamkit_plugins.inducers.identity import IdentityInducer

FEATURIZER = """\
  featurizer:
    name: qhnet
    hidden: 4
    num_layers: 3
    sh_lmax: 2
    lmax: 4
    pair_start_layer: 2
    bottleneck: 3
    num_radial: 8
    radial_hidden: 16
"""
ENCODER = """\
  invariant_encoder:
    name: trace_mlp
    num_scalars: 8
    hidden: [8]
"""
HEAD = """\
  head:
    name: cg_expansion
"""
OTHER_IRREPS = "4x0e+2x1o"


class WideningInducer(IdentityInducer):
    """Broken: declares output irreps with one more scalar than its input."""

    name: ClassVar[str] = "widening"

    @property
    def irreps_out(self) -> str | None:
        return f"{self.irreps_in}+1x0e"


class SilentInducer(Inducer):
    """Broken: declares no irreps at all."""

    name: ClassVar[str] = "silent"

    def __init__(self, config: ComponentConfig) -> None:
        super().__init__()

    def forward(self, features, invariants_of):
        return features


class ScalarHead(CGExpansionHead):
    """Broken: built for scalar-only features, whatever the featurizer declares."""

    name: ClassVar[str] = "scalar_head"

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> Head:
        head = super().from_config(config, context)
        head.node_irreps_in = "4x0e"
        return head


def registry() -> Registry:
    """The first-party components plus this module's broken ones."""
    registry = load_plugins(environ={}).registry
    provider = Provider("assembly-checks-test", __name__)
    Registrar(registry, "inducer", provider)(WideningInducer)
    Registrar(registry, "inducer", provider)(SilentInducer)
    Registrar(registry, "head", provider)(ScalarHead)
    return registry


REGISTRY = registry()


def write_recipe(tmp_path: Path, *model_parts: str, inducer: str = "none") -> Path:
    """A recipe with these ``model:`` parts (indented YAML) and ``inducer: {name: ...}``."""
    text = (
        "data:\n  dataset: {name: hamkit, path: \"embedded:water\"}\n"
        "model:\n" + "".join(model_parts) + f"  inducer:\n    name: {inducer}\n"
        "loss:\n  - {name: h_mse, weight: 1.0}\ntrain: {steps: 1, batch_size: 1, lr: 1.0e-3}\n"
    )
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of ``path`` containing ``text``."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def build(path: Path):
    basis = svp_like_basis()
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype="float64")
    return build_model(load_recipe(path, registry=REGISTRY), context)


def build_error(path: Path) -> str:
    with pytest.raises(HamkitError) as caught:
        build(path)
    return str(caught.value)


@pytest.mark.parametrize("inducer", ["none", "gate", "gradient"])
def test_working_pairings_build_with_matching_irreps(tmp_path, inducer):
    model = build(write_recipe(tmp_path, FEATURIZER, ENCODER, HEAD, inducer=inducer))
    node, pair = model.featurizer.node_irreps, model.featurizer.pair_irreps
    for stage, irreps in ((model.node_stage, node), (model.pair_stage, pair)):
        assert stage.encoder.irreps_in == irreps
        assert stage.inducer.irreps_in == stage.inducer.irreps_out == irreps
    assert (model.head.node_irreps_in, model.head.pair_irreps_in) == (node, pair)


def test_block_stages_get_the_block_irreps(tmp_path):
    path = write_recipe(tmp_path, FEATURIZER, ENCODER, HEAD, "  induce_after_blocks: true\n",
                        inducer="gradient")
    model = build(path)
    points = model.featurizer.induction_points()
    assert points and len(model.block_stages) == len(points)
    for point in points:
        assert model.block_stages[f"{point.block}:{point.attribute}"].inducer.irreps_in == point.irreps


def test_inducer_changing_its_irreps_fails_at_its_line(tmp_path):
    path = write_recipe(tmp_path, FEATURIZER, HEAD, inducer="widening")
    message = build_error(path)
    assert f"recipe.yaml:{line_of(path, 'inducer:')}: model.inducer" in message
    assert "must keep the irreps" in message
    assert re.search(r"output irreps '.*\+1x0e' for input irreps '[^']+'", message)


def test_encoder_set_to_other_irreps_fails_at_its_option_line(tmp_path):
    encoder = ENCODER + f"    irreps_in: \"{OTHER_IRREPS}\"\n"
    path = write_recipe(tmp_path, FEATURIZER, encoder, HEAD, inducer="gradient")
    message = build_error(path)
    assert f"recipe.yaml:{line_of(path, 'irreps_in:')}: model.invariant_encoder" in message
    assert f"declares input irreps '{OTHER_IRREPS}'" in message
    assert f"recipe.yaml:{line_of(path, 'featurizer:')}" in message  # the other side, too
    assert re.search(r"node features of featurizer 'qhnet' \([^)]*\) have '\d+x0e", message)


def test_inducer_set_to_other_irreps_fails_at_its_option_line(tmp_path):
    path = write_recipe(tmp_path, FEATURIZER, ENCODER, HEAD, inducer="gradient")
    text = path.read_text().replace("    name: gradient\n",
                                    f"    name: gradient\n    irreps_in: \"{OTHER_IRREPS}\"\n")
    path.write_text(text)
    message = build_error(path)
    assert f"recipe.yaml:{line_of(path, 'irreps_in:')}: model.inducer" in message
    assert f"inducer 'gradient' declares input irreps '{OTHER_IRREPS}'" in message


def test_head_needing_other_irreps_fails_at_its_line(tmp_path):
    path = write_recipe(tmp_path, FEATURIZER, HEAD.replace("cg_expansion", "scalar_head"))
    message = build_error(path)
    assert f"recipe.yaml:{line_of(path, 'head:')}: model.head" in message
    assert "head 'scalar_head' needs node irreps '4x0e', but featurizer 'qhnet'" in message
    assert re.search(r"provides '\d+x0e\+", message)


def test_inducer_declaring_nothing_fails_at_its_line(tmp_path):
    path = write_recipe(tmp_path, FEATURIZER, HEAD, inducer="silent")
    message = build_error(path)
    assert f"recipe.yaml:{line_of(path, 'inducer:')}: model.inducer" in message
    assert "declares no irreps_in" in message


def test_irreps_are_compared_by_layout():
    assert same_irreps("2x0e+2x0e+1x1o", "4x0e+1x1o", "here")
    assert same_irreps("1x0e+0x2e", "1x0e", "here")
    assert not same_irreps("1x1o", "1x1e", "here")
    assert not same_irreps("1x0e+1x1o", "1x1o+1x0e", "here")
    with pytest.raises(HamkitError, match="here: cannot parse irreps '4xq'"):
        same_irreps("4xq", "1x0e", "here")
