"""Recipes that validate must run: semantic checks, sanity bounds, warnings, deep nesting,
``--set`` origins, and careless inputs that must end in a clear error (exit 2, no traceback)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hamkit.ablation.spec import load_ablation, validate_variants
from hamkit.cli.main import main
from hamkit.plugin_host import load_plugins
from hamkit.recipe import RecipeError, load_recipe
from hamkit.recipe.bounds import MAX_DEGREE, MAX_LAYERS, MAX_WIDTH
from hamkit.recipe.yaml_source import MAX_DEPTH, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "recipes" / "quickstart.yaml"
REGISTRY = load_plugins(environ={}).registry

BASE = """\
description: semantic checks
data:
  dataset: {name: hamkit, path: "embedded:water"}
  split: {kind: random, train: 0.8, val: 0.1, test: 0.1, seed: 0}
model:
  featurizer: {name: qhnet, hidden: 8, num_layers: 2, pair_start_layer: 1}
  invariant_encoder: {name: trace_mlp, num_scalars: 8, hidden: [8]}
  inducer: {name: gradient}
  head: {name: cg_expansion}
loss:
  - {name: h_mse, weight: 1.0}
train:
  steps: 100
  batch_size: 4
  lr: 1.0e-3
  eval_every: 10
"""
"""A valid recipe; the featurizer is on line 6, the loss weight on line 11, train on 12-16."""


def load(tmp_path: Path, text: str = BASE, overrides: tuple[str, ...] = ()):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return load_recipe(path, overrides, registry=REGISTRY)


def issues_of(tmp_path: Path, text: str = BASE, overrides: tuple[str, ...] = ()):
    with pytest.raises(RecipeError) as caught:
        load(tmp_path, text, overrides)
    return caught.value.issues


def with_train(extra: str) -> str:
    return BASE + "".join(f"  {line}\n" for line in extra.splitlines())


# --- 1. semantic checks ----------------------------------------------------------------------


def test_base_recipe_is_valid_and_quiet(tmp_path):
    recipe = load(tmp_path)
    assert recipe.warnings == ()


@pytest.mark.parametrize("text,path", [
    (BASE.replace("lr: 1.0e-3", "lr: .inf"), "train.lr"),
    (BASE.replace("lr: 1.0e-3", "lr: .nan"), "train.lr"),
    (with_train("weight_decay: .inf"), "train.weight_decay"),
    (with_train("clip_grad_norm: .inf"), "train.clip_grad_norm"),
    (with_train("min_lr_ratio: .nan"), "train.min_lr_ratio"),
    (with_train("ema_decay: .nan"), "train.ema_decay"),
    (with_train("betas: [.nan, 0.9]"), "train.betas.0"),
    (BASE.replace("weight: 1.0", "weight: .inf"), "loss.0.weight"),
    (BASE.replace("val: 0.1", "val: .nan"), "data.split.val"),
    (BASE.replace("hidden: 8, num_layers", "cutoff: .inf, hidden: 8, num_layers"), "model.featurizer.cutoff"),
    (BASE.replace("steps: 100", "steps: 1.0e+400"), "train.steps"),
])
def test_non_finite_numbers_are_errors(tmp_path, text, path):
    issues = issues_of(tmp_path, text)
    assert [issue.path for issue in issues] == [path]
    assert "finite" in issues[0].message and issues[0].origin.line is not None


@pytest.mark.parametrize("betas,index", [("[1.0, 0.999]", 0), ("[0.9, 1.5]", 1), ("[-0.1, 0.9]", 0)])
def test_betas_are_in_the_unit_interval(tmp_path, betas, index):
    issues = issues_of(tmp_path, with_train(f"betas: {betas}"))
    assert [issue.path for issue in issues] == [f"train.betas.{index}"]
    assert issues[0].origin.line == 17


@pytest.mark.parametrize("text,path,expected", [
    (BASE.replace("steps: 100", "steps: true"), "train.steps", "an integer"),
    (BASE.replace("batch_size: 4", "batch_size: false"), "train.batch_size", "an integer"),
    (BASE.replace("lr: 1.0e-3", "lr: true"), "train.lr", "a number"),
    (with_train("betas: [true, 0.9]"), "train.betas.0", "a number"),
    (BASE.replace("weight: 1.0", "weight: true"), "loss.0.weight", "a number"),
    (BASE.replace("seed: 0}", "seed: yes}"), "data.split.seed", "an integer"),
    (BASE.replace("hidden: 8, num_layers", "hidden: true, num_layers"), "model.featurizer.hidden",
     "an integer"),
    (BASE.replace("hidden: [8]", "hidden: [8, true]"), "model.invariant_encoder.hidden.1", "an integer"),
])
def test_booleans_are_not_numbers(tmp_path, text, path, expected):
    issues = issues_of(tmp_path, text)
    assert [issue.path for issue in issues] == [path]
    assert f"expected {expected}" in issues[0].message and "boolean" in issues[0].message


def test_boolean_options_still_take_booleans(tmp_path):
    text = BASE.replace("  head: {name: cg_expansion}", "  head: {name: cg_expansion, onsite_bias: false}\n"
                        "  onsite_baseline: false")
    recipe = load(tmp_path, text)
    assert recipe.sections.model.onsite_baseline is False
    assert recipe.component("model", "head").config.onsite_bias is False


FEATURIZERS = {
    "qhnet": "{name: qhnet, pair_start_layer: 1",
    "mace": "{name: mace",
    "deeph_e3": "{name: deeph_e3",
}


def with_featurizer(options: str) -> str:
    name = options.split(",")[0]
    featurizer = "{name: qhnet, hidden: 8, num_layers: 2, pair_start_layer: 1"
    return BASE.replace(featurizer, f"{FEATURIZERS[name]}, {options.split(',', 1)[1]}")


@pytest.mark.parametrize("text,path,fragment", [
    (with_featurizer("qhnet, num_layers: 100000"), "model.featurizer.num_layers",
     f"at most {MAX_LAYERS} layers"),
    (with_featurizer("qhnet, hidden: 100000"), "model.featurizer.hidden", f"at most {MAX_WIDTH} channels"),
    (with_featurizer("qhnet, bottleneck: 5000"), "model.featurizer.bottleneck", f"at most {MAX_WIDTH}"),
    (with_featurizer("qhnet, sh_lmax: 12"), "model.featurizer.sh_lmax", f"up to {MAX_DEGREE}"),
    (with_featurizer("qhnet, lmax: 20"), "model.featurizer.lmax", f"up to {MAX_DEGREE}"),
    (with_featurizer("mace, num_interactions: 1000"), "model.featurizer.num_interactions", "at most 64"),
    (with_featurizer("mace, channels: 5000"), "model.featurizer.channels", "at most 4096"),
    (with_featurizer("mace, out_lmax: 12"), "model.featurizer.out_lmax", "up to 11"),
    (with_featurizer("mace, pair_sh_lmax: 30"), "model.featurizer.pair_sh_lmax", "up to 11"),
    (with_featurizer("mace, radial_mlp: [64, 100000]"), "model.featurizer.radial_mlp", "at most 4096"),
    (with_featurizer("deeph_e3, num_blocks: 100000"), "model.featurizer.num_blocks", "at most 64"),
    (with_featurizer("deeph_e3, node_irreps: '100000x0e+2x1o'"), "model.featurizer.node_irreps",
     "multiplicity"),
    (BASE.replace("num_scalars: 8", "num_scalars: 100000"), "model.invariant_encoder.num_scalars",
     "at most 4096"),
    (BASE.replace("hidden: [8]", "hidden: [" + ", ".join(["8"] * 65) + "]"), "model.invariant_encoder.hidden",
     "at most 64"),
    (BASE.replace("{name: gradient}", "{name: gradient, irreps_in: '8x0e+9000x1o'}"),
     "model.inducer.irreps_in", "multiplicity 9000"),
    (BASE.replace("steps: 100", "steps: 10000000000"), "train.steps", "at most 1,000,000,000 steps"),
    (BASE.replace("batch_size: 4", "batch_size: 100000000"), "train.batch_size", "at most 1,000,000"),
    (BASE.replace("steps: 100", "steps: 1" + "0" * 400), "train.steps", "at most"),
    (with_train("seed: -1"), "train.seed", "greater than or equal to 0"),
    (with_train(f"seed: {2**64}"), "train.seed", "less than or equal to"),
    (BASE.replace("seed: 0}", "seed: -5}"), "data.split.seed", "greater than or equal to 0"),
])
def test_sanity_bounds_say_the_bound_and_why(tmp_path, text, path, fragment):
    issues = issues_of(tmp_path, text)
    assert [issue.path for issue in issues] == [path], issues
    assert fragment in issues[0].message
    assert len(str(issues[0])) < 400  # huge inputs are shortened


def test_values_at_the_bounds_validate(tmp_path):
    text = with_featurizer(f"qhnet, num_layers: {MAX_LAYERS}, hidden: {MAX_WIDTH}, sh_lmax: {MAX_DEGREE}")
    recipe = load(tmp_path, text)
    config = recipe.component("model", "featurizer").config
    assert (config.num_layers, config.hidden, config.sh_lmax) == (MAX_LAYERS, MAX_WIDTH, MAX_DEGREE)


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_are_within_bounds_and_quiet(path):
    assert load_recipe(path, registry=REGISTRY).warnings == ()


ABLATIONS = sorted((ROOT / "recipes" / "ablations").glob("*.yaml"))


@pytest.mark.parametrize("path", ABLATIONS, ids=lambda p: p.name)
def test_shipped_ablations_are_within_bounds(path):
    assert validate_variants(load_ablation(path), registry=REGISTRY)


@pytest.mark.parametrize("fields,path", [
    ("budget: {steps: true}", "budget.steps"),
    ("budget: {seconds: .inf}", "budget.seconds"),
    ("budget: {steps: 5}\nseeds: [true]", "seeds.0"),
])
def test_ablation_budgets_and_seeds_are_strict(tmp_path, fields, path):
    (tmp_path / "base.yaml").write_text(BASE)
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(f"base: base.yaml\n{fields}\nvariants: {{a: []}}\n")
    with pytest.raises(RecipeError) as caught:
        load_ablation(ablation)
    assert [issue.path for issue in caught.value.issues] == [path]


def test_ablation_variant_errors_in_a_section_name_the_variant_line(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text('base: base.yaml\nbudget: {steps: 5}\nvariants:\n  a: ["data.split.train=0.95"]\n')
    with pytest.raises(RecipeError) as caught:
        validate_variants(load_ablation(ablation), registry=REGISTRY)
    (issue,) = caught.value.issues
    assert issue.path == "data.split" and f"{ablation}:4" in issue.message


# --- 2. warnings -----------------------------------------------------------------------------


@pytest.mark.parametrize("text,path,fragment", [
    (BASE.replace("test: 0.1", "test: 0"), "data.split.test", "no test set"),
    (BASE.replace("val: 0.1", "val: 0.0"), "data.split.val", "no validation set"),
    (with_train("warmup_steps: 100"), "train.warmup_steps", "the whole run is warmup"),
    (with_train("early_stopping: 3").replace("eval_every: 10", "eval_every: 0"), "train.eval_every",
     "early_stopping never acts"),
    (BASE.replace("weight: 1.0", "weight: 0"), "loss", "every loss weight is 0"),
    (BASE.replace("lr: 1.0e-3", "lr: 50"), "train.lr", "unusually large"),
])
def test_misleading_recipes_warn(tmp_path, text, path, fragment):
    warnings = load(tmp_path, text).warnings
    assert [warning.path for warning in warnings] == [path]
    assert fragment in warnings[0].message
    line = warnings[0].as_warning()
    assert line.startswith(f"warning: {tmp_path / 'recipe.yaml'}:") and f": {path}: " in line


def test_no_validation_set_names_what_will_not_act(tmp_path):
    text = with_train("schedule: plateau").replace("val: 0.1", "val: 0")
    (warning,) = load(tmp_path, text).warnings
    assert "train.schedule: plateau will not act" in warning.message


def test_index_file_splits_do_not_warn_about_fractions(tmp_path):
    text = BASE.replace("kind: random", "kind: index_file, index_file: split.json")
    text = text.replace("test: 0.1", "test: 0")
    assert load(tmp_path, text).warnings == ()


def test_warnings_name_the_set_that_caused_them(tmp_path):
    (warning,) = load(tmp_path, overrides=("data.split.test=0",)).warnings
    assert str(warning.origin) == "--set data.split.test=0"


# --- 3. deep nesting -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "a: " + "[" * 5000,
    "a: " + "[" * 5000 + "]" * 5000,
    "a: " + "{a: " * 10000 + "1" + "}" * 10000,
    "".join("  " * depth + "a:\n" for depth in range(200)) + "  " * 200 + "b: 1\n",
    "- " * 3000 + "x\n",
])
def test_deep_documents_are_clear_errors(tmp_path, text):
    issues = issues_of(tmp_path, text)
    assert len(issues) == 1 and f"nested deeper than {MAX_DEPTH} levels" in issues[0].message


def test_aliases_cannot_nest_deeper_than_the_limit(tmp_path):
    levels = ["l0: &l0 " + "[" * 40 + "]" * 40]
    for index in range(1, 5):
        levels.append(f"l{index}: &l{index} " + "[" * 40 + f"*l{index - 1}" + "]" * 40)
    issues = issues_of(tmp_path, "\n".join(levels) + "\n")
    assert f"nested deeper than {MAX_DEPTH}" in issues[0].message


def test_nesting_up_to_the_limit_parses():
    data, _ = parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "x.yaml")
    depth = 0
    while isinstance(data, (dict, list)) and data:
        data = data["a"] if isinstance(data, dict) else data[0]
        depth += 1
    assert depth == MAX_DEPTH - 1


@pytest.mark.parametrize("assignment", [
    "train.lr=" + "[" * 5000,
    "train.lr=" + "[" * 5000 + "]" * 5000,
    "model.featurizer.hidden=" + "{a: " * 5000 + "1" + "}" * 5000,
    ".".join(["a"] * 5000) + "=1",
])
def test_deep_set_values_are_clear_errors(tmp_path, assignment):
    issues = issues_of(tmp_path, overrides=(assignment,))
    assert f"nested deeper than {MAX_DEPTH} levels" in issues[0].message
    assert str(issues[0].origin).startswith("--set ") and len(str(issues[0].origin)) <= 80


def test_long_extends_chains_are_refused(tmp_path):
    (tmp_path / "r0.yaml").write_text(BASE)
    for index in range(1, 40):
        (tmp_path / f"r{index}.yaml").write_text(f"extends: r{index - 1}.yaml\n")
    with pytest.raises(RecipeError, match="more than 32 recipes in one extends chain"):
        load_recipe(tmp_path / "r39.yaml", registry=REGISTRY)
    assert load_recipe(tmp_path / "r20.yaml", registry=REGISTRY).sections.train.steps == 100


# --- 4. --set origins ------------------------------------------------------------------------


@pytest.mark.parametrize("overrides,path", [
    (["train.lr=-1"], "train.lr"),
    (["model.featurizer={name: qhnet, hiden: 3}"], "model.featurizer.hiden"),
    (["loss.0.weight=-2"], "loss.0.weight"),
    (["train=5"], "train"),
    (["loss.0.wieght=1"], "loss.0.wieght"),
    (["loss.0={name: h_mse, weight: .nan}"], "loss.0.weight"),
    (["foo.bar.baz=1"], "foo"),
    (["model.head.name.x=1"], "model.head.name"),
    (["model.featurizer={name: qhnet, name: mace}"], "model.featurizer"),
    (["train.betas=[0.9, 0.99]", "train.betas.1=1.5"], "train.betas.1"),
])
def test_set_errors_name_the_override(tmp_path, overrides, path):
    issues = issues_of(tmp_path, overrides=tuple(overrides))
    culprit = f"--set {overrides[-1]}"
    assert [(str(issue.origin), issue.path) for issue in issues] == [(culprit, path)]
    assert str(issues[0]).startswith(f"{culprit}: {path}: ")


def test_whole_section_errors_mention_the_override(tmp_path):
    (issue,) = issues_of(tmp_path, overrides=("data.split.train=0.95",))
    assert issue.origin.line == 4 and issue.path == "data.split"
    assert "exceeds 1" in issue.message and "--set data.split.train=0.95" in issue.message


# --- 5. careless inputs through the command line --------------------------------------------

QUICK = QUICKSTART.read_text()


def _replace(old: str, new: str) -> str:
    assert old in QUICK
    return QUICK.replace(old, new)


CARELESS_FILES: dict[str, str | bytes] = {
    "empty": "",
    "only_comment": "# nothing\n",
    "list_at_top": "- data\n- model\n",
    "scalar_at_top": "42\n",
    "binary": bytes(range(256)) * 8,
    "latin1": "description: caf\xe9\n".encode("latin-1"),
    "nul_byte": QUICK + "\x00\n",
    "two_documents": QUICK + "---\n" + QUICK,
    "tabs": _replace("  steps: 1500", "\tsteps: 1500"),
    "duplicate_key": _replace("  steps: 1500", "  steps: 1500\n  steps: 10"),
    "unclosed_bracket": _replace("{name: cg_expansion}", "{name: cg_expansion"),
    "unicode_key": _replace("  seed: 0\n  dtype", "  sëed: 0\n  dtype"),
    "int_key": QUICK + "5: x\n",
    "null_key": _replace("  steps: 1500", "  ~: 3\n  steps: 1500"),
    "huge_int": _replace("steps: 1500", "steps: 1" + "0" * 400),
    "huge_float": _replace("lr: 2.0e-3", "lr: 1.0e+400"),
    "string_for_number": _replace("steps: 1500", "steps: many"),
    "fraction_for_int": _replace("steps: 1500", "steps: 10.5"),
    "bool_steps": _replace("steps: 1500", "steps: true"),
    "bool_hidden": _replace("hidden: 16", "hidden: yes"),
    "zero_steps": _replace("steps: 1500", "steps: 0"),
    "negative_batch": _replace("batch_size: 8", "batch_size: -8"),
    "negative_seed": _replace("  seed: 0\n  dtype", "  seed: -1\n  dtype"),
    "lr_nan": _replace("lr: 2.0e-3", "lr: .nan"),
    "betas_out_of_range": _replace("  seed: 0\n  dtype", "  betas: [1, 1]\n  seed: 0\n  dtype"),
    "num_layers_huge": _replace("num_layers: 3", "num_layers: 100000"),
    "lmax_huge": _replace("sh_lmax: 2", "sh_lmax: 40"),
    "name_as_list": _replace("{name: cg_expansion}", "{name: [cg_expansion]}"),
    "name_as_int": _replace("{name: cg_expansion}", "{name: 7}"),
    "component_as_string": _replace("head: {name: cg_expansion}", "head: cg_expansion"),
    "component_null": _replace("head: {name: cg_expansion}", "head:"),
    "loss_mapping": QUICK.split("\nloss:")[0] + "\nloss: {}\ntrain:" + QUICK.split("\ntrain:")[1],
    "loss_empty_list": QUICK.split("\nloss:")[0] + "\nloss: []\ntrain:" + QUICK.split("\ntrain:")[1],
    "train_null": QUICK.split("\ntrain:")[0] + "\ntrain:\n",
    "split_as_string": _replace("split: {kind: random, train: 0.8, val: 0.1, test: 0.1, seed: 0}",
                                "split: random"),
    "python_tag": QUICK + "x: !!python/object/apply:os.system ['true']\n",
    "alias_cycle": QUICK + "x: &x [*x]\n",
    "alias_bomb": "a: &a [" + ",".join("x" * 10) + "]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(5)),
    "deep_list": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep_mapping": "a: " + "{a: " * 10000 + "1" + "}" * 10000 + "\n",
    "extends_itself": "extends: careless.yaml\n" + QUICK,
    "extends_directory": "extends: .\n" + QUICK,
    "extends_missing": "extends: nowhere.yaml\n" + QUICK,
    "extends_number": "extends: 5\n" + QUICK,
    "extends_device": "extends: /dev/zero\n" + QUICK,
}


@pytest.fixture
def careless_dir(tmp_path):
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    return tmp_path


def _assert_clear_error(capsys, argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err and "error: " in err
    return err


@pytest.mark.parametrize("name", list(CARELESS_FILES))
def test_careless_recipe_files_are_clear_errors(capsys, cli_host, careless_dir, name):
    path = careless_dir / "careless.yaml"
    content = CARELESS_FILES[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    _assert_clear_error(capsys, ["recipe", "validate", str(path)])


@pytest.mark.parametrize("target", ["directory", "missing", "/dev/null", "extends_binary"])
def test_careless_recipe_paths_are_clear_errors(capsys, cli_host, careless_dir, target):
    path = {"directory": careless_dir, "missing": careless_dir / "nope.yaml", "/dev/null": Path("/dev/null"),
            "extends_binary": careless_dir / "child.yaml"}[target]
    (careless_dir / "child.yaml").write_text("extends: binary.yaml\n" + QUICK)
    err = _assert_clear_error(capsys, ["recipe", "validate", str(path)])
    assert str(path) in err or "binary.yaml" in err


@pytest.mark.parametrize("assignment", [
    "train.lr=-1", "train.lr=.inf", "train.steps=true", "train=5", "loss.0.weight=-2",
    "loss.9.weight=1", "loss.x.weight=1", "train.lr.x=1", "train.lr", "=1", "train..lr=1",
    "model.featurizer={name: qhnet, hiden: 3}", "model.featurizer.num_layers=100000",
    "train.lr=[1", "train.lr=" + "[" * 5000, "train.lr=!!python/name:os.system",
    "data.split={train: 1.0, val: 0.5}", "foo.bar=1",
])
def test_careless_set_values_are_clear_errors(capsys, cli_host, assignment):
    err = _assert_clear_error(capsys, ["recipe", "validate", str(QUICKSTART), "--set", assignment])
    assert "--set " in err


# --- fuzzing ---------------------------------------------------------------------------------

_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (st.lists(children, max_size=3)
                      | st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=12,
)


def _flow(value: object) -> str:
    """``value`` as one line of flow-style YAML."""
    return yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip().removesuffix("...").strip()


def _loads_or_recipe_error(path: Path, overrides: tuple[str, ...] = ()) -> None:
    try:
        load_recipe(path, overrides, registry=REGISTRY)
    except RecipeError as error:
        assert error.issues and all(str(issue) for issue in error.issues)


@_FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_any_text_is_a_recipe_or_a_recipe_error(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))  # lone surrogates: not UTF-8
    _loads_or_recipe_error(path)


@_FUZZ
@given(section=st.sampled_from(["train", "model.featurizer", "data.split", "loss.0", "model"]),
       key=st.text(min_size=1, max_size=8).filter(lambda key: "=" not in key and "." not in key),
       value=_yaml_values)
def test_fuzz_set_values_are_accepted_or_recipe_errors(section, key, value):
    _loads_or_recipe_error(QUICKSTART, (f"{section}.{key}={_flow(value)}",))


@_FUZZ
@given(option=st.sampled_from(["steps", "batch_size", "lr", "seed", "betas", "warmup_steps", "weight_decay"]),
       value=_yaml_values)
def test_fuzz_train_values_are_accepted_or_recipe_errors(option, value):
    _loads_or_recipe_error(QUICKSTART, (f"train.{option}={_flow(value)}",))
