"""Recipes: two-pass validation, file:line errors, suggestions, extends, --set."""

from __future__ import annotations

import textwrap

import pytest

from hamkit.recipe import RecipeError, load_recipe

GOOD = """\
description: toy recipe
data:
  dataset: {name: toy_data, path: somewhere.h5}
model:
  featurizer:
    name: toy_backbone
    hidden: 32
  head: {name: toy_head}
loss:
  - {name: h_mse, weight: 1.0}
  - {name: h_mae, weight: 0.5}
train:
  steps: 10
  batch_size: 2
  lr: 1.0e-3
"""


def write(tmp_path, text, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path, text, toy_host, overrides=()):
    return load_recipe(write(tmp_path, text), overrides, registry=toy_host.registry)


def only_issue(error: RecipeError):
    assert len(error.issues) == 1, error.issues
    return error.issues[0]


def test_good_recipe_resolves_with_defaults(tmp_path, toy_host):
    recipe = load(tmp_path, GOOD, toy_host)
    featurizer = recipe.component("model", "featurizer")
    assert featurizer.config.hidden == 32 and featurizer.config.lmax == 2
    assert [loss.weight for loss in recipe.losses] == [1.0, 0.5]
    resolved = recipe.to_dict()
    assert resolved["model"]["inducer"] == {"name": "none"}
    assert resolved["train"]["dtype"] == "float32" and resolved["train"]["device"] == "auto"
    assert resolved["model"]["featurizer"]["activation"] == "silu"


def test_misspelt_option_names_file_line_path_and_suggestion(tmp_path, toy_host):
    text = GOOD.replace("    hidden: 32", "    hiden: 32")
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, text, toy_host)
    issue = only_issue(caught.value)
    assert issue.origin.line == 7 and issue.origin.source.endswith("recipe.yaml")
    assert issue.path == "model.featurizer.hiden"
    assert "Did you mean 'hidden'" in issue.message
    assert "recipe.yaml:7: model.featurizer.hiden" in str(caught.value)


def test_misspelt_component_name_suggests(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD.replace("name: toy_backbone", "name: toy_backbon"), toy_host)
    issue = only_issue(caught.value)
    assert issue.origin.line == 6 and issue.path == "model.featurizer.name"
    assert "Did you mean 'toy_backbone'" in issue.message


def test_misspelt_section_suggests(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD.replace("train:", "trian:"), toy_host)
    messages = [str(i) for i in caught.value.issues]
    assert any("Did you mean 'train'" in m and ":12:" in m for m in messages)
    assert any(i.path == "train" and "required" in i.message for i in caught.value.issues)


def test_wrong_type_says_what_was_expected(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD.replace("steps: 10", "steps: many"), toy_host)
    issue = only_issue(caught.value)
    assert issue.path == "train.steps" and issue.origin.line == 13
    assert "valid integer" in issue.message and "'many'" in issue.message


def test_bad_literal_lists_choices(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD + "  dtype: float16\n", toy_host)
    assert "'float32' or 'float64'" in only_issue(caught.value).message


def test_all_problems_are_reported_at_once(tmp_path, toy_host):
    text = GOOD.replace("    hidden: 32", "    hiden: 32").replace("{name: toy_head}", "{name: toy_head, bias: maybe}")
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, text, toy_host)
    assert {i.path for i in caught.value.issues} == {"model.featurizer.hiden", "model.head.bias"}


def test_loss_options_are_validated_per_term(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD.replace("{name: h_mae, weight: 0.5}", "{name: h_mae, wieght: 0.5}"), toy_host)
    issue = only_issue(caught.value)
    assert issue.path == "loss.1.wieght" and issue.origin.line == 11
    assert "Did you mean" in issue.message


def test_extends_and_override_lines(tmp_path, toy_host):
    write(tmp_path, GOOD, "base.yaml")
    child = write(tmp_path, """\
        extends: base.yaml
        train:
          lr: 5.0e-4
          seed: 3
        """, "child.yaml")
    recipe = load_recipe(child, registry=toy_host.registry)
    assert recipe.sections.train.lr == 5e-4 and recipe.sections.train.steps == 10
    assert recipe.sections.train.seed == 3
    assert recipe.component("model", "featurizer").config.hidden == 32
    with pytest.raises(RecipeError) as caught:
        load_recipe(child, ["train.steps=-1"], registry=toy_host.registry)
    issue = only_issue(caught.value)
    assert issue.origin.source == "--set train.steps=-1" and "greater than 0" in issue.message


def test_errors_in_an_extended_file_point_at_that_file(tmp_path, toy_host):
    write(tmp_path, GOOD.replace("    hidden: 32", "    hiden: 32"), "base.yaml")
    child = write(tmp_path, "extends: base.yaml\ntrain: {seed: 1}\n", "child.yaml")
    with pytest.raises(RecipeError) as caught:
        load_recipe(child, registry=toy_host.registry)
    issue = only_issue(caught.value)
    assert issue.origin.source.endswith("base.yaml") and issue.origin.line == 7


def test_extends_cycle_and_missing_file(tmp_path, toy_host):
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(RecipeError, match="cycle"):
        load_recipe(tmp_path / "a.yaml", registry=toy_host.registry)
    write(tmp_path, "extends: nowhere.yaml\n", "c.yaml")
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "c.yaml", registry=toy_host.registry)


def test_set_overrides_lists_and_nested_values(tmp_path, toy_host):
    recipe = load(tmp_path, GOOD, toy_host, ["loss.1.weight=0.25", "model.featurizer.hidden=8",
                                              "train.dtype=float64"])
    assert recipe.losses[1].weight == 0.25
    assert recipe.component("model", "featurizer").config.hidden == 8
    assert recipe.sections.train.dtype == "float64"


@pytest.mark.parametrize("assignment,fragment", [
    ("train.lr", "expected --set path.to.key=value"),
    ("loss.7.weight=1", "no item 7"),
    ("train.lr.x=1", "cannot set 'x' inside a float"),
    ("model.featurizer.hidden=[1", "not valid YAML"),
])
def test_bad_set_assignments(tmp_path, toy_host, assignment, fragment):
    with pytest.raises(RecipeError, match=fragment):
        load(tmp_path, GOOD, toy_host, [assignment])


@pytest.mark.parametrize("text,fragment,line", [
    ("data: [1, 2\n", "not valid YAML", 2),
    ("train: {steps: 1}\ntrain: {steps: 2}\n", "appears twice", 2),
    ("- just\n- a list\n", "mapping of sections", 1),
    ("a: !!python/object:os.system {}\n", "cannot read a value", 1),
    ("a: &x [*x]\n", "contains it", 1),
])
def test_malformed_yaml(tmp_path, toy_host, text, fragment, line):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, text, toy_host)
    issue = caught.value.issues[0]
    assert fragment in issue.message and issue.origin.line == line


def test_missing_file(tmp_path, toy_host):
    with pytest.raises(RecipeError, match="file not found"):
        load_recipe(tmp_path / "nope.yaml", registry=toy_host.registry)


def test_odd_section_names_are_reported_not_crashed(tmp_path, toy_host):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, GOOD + "x[0]: 1\n", toy_host)
    assert any(issue.path == "x[0]" and "unknown section" in issue.message for issue in caught.value.issues)
