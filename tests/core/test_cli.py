"""The command line: exit codes, messages without tracebacks, JSON output, plugin commands."""

from __future__ import annotations

import json
import string
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hamkit.cli.main import main
from hamkit.components import KINDS
from hamkit.plugin_host import load_plugins

from tests.core.test_recipes import GOOD
from tests.core.toy_plugins import CommandPlugin, RaisingPlugin, ToyPlugin


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_everywhere(capsys):
    for argv in (["--help"], ["plugins", "--help"], ["plugins", "list", "--help"],
                 ["recipe", "--help"], ["recipe", "validate", "--help"],
                 ["recipe", "show", "--help"], ["recipe", "schema", "--help"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 0
        assert "usage: hamkit" in capsys.readouterr().out


def test_plugins_list_json_has_the_documented_keys(capsys, cli_host):
    code, out, _ = run(capsys, "plugins", "list", "--json")
    assert code == 0
    items = json.loads(out)
    for item in items:
        assert {"name", "kind", "provider", "summary", "options"} <= set(item)
    assert {"featurizer", "head", "dataset", "loss", "inducer"} <= {i["kind"] for i in items}
    backbone = next(i for i in items if i["name"] == "toy_backbone")
    assert backbone["provider"] == "toy" and backbone["options"][0]["name"] == "hidden"


def test_plugins_list_filters_by_kind(capsys, cli_host):
    code, out, _ = run(capsys, "plugins", "list", "--kind", "loss", "--json")
    assert code == 0 and {i["kind"] for i in json.loads(out)} == {"loss"}


def test_installed_plugins_cover_every_kind(capsys):
    """Without test plugins: the first-party components give every kind at least one entry."""
    host = load_plugins(environ={})
    missing = [kind for kind in KINDS if not host.registry.names(kind)]
    assert not missing, f"no first-party component of kind(s) {missing}"


def test_misspelt_option_exits_2_with_file_line_and_suggestion(tmp_path, capsys, cli_host):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(GOOD.replace("    hidden: 32", "    hiden: 32"))
    code, out, err = run(capsys, "recipe", "validate", str(recipe))
    assert code == 2
    assert f"{recipe}:7: model.featurizer.hiden" in err and "Did you mean 'hidden'" in err
    assert "Traceback" not in err + out


def test_validate_reports_each_file(tmp_path, capsys, cli_host):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text("train: [\n")
    code, out, err = run(capsys, "recipe", "validate", str(good), str(bad))
    assert code == 2 and f"{good}: ok" in out and f"{bad}:2" in err


def test_show_fills_defaults_and_applies_set(tmp_path, capsys, cli_host):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(GOOD)
    code, out, _ = run(capsys, "recipe", "show", str(recipe), "--json", "--set", "train.seed=7")
    resolved = json.loads(out)
    assert code == 0 and resolved["train"]["seed"] == 7
    assert resolved["model"]["featurizer"] == {"name": "toy_backbone", "hidden": 32, "lmax": 2,
                                               "activation": "silu"}


def test_schema_describes_registered_components(capsys, cli_host):
    code, out, _ = run(capsys, "recipe", "schema")
    schema = json.loads(out)
    text = json.dumps(schema)
    assert code == 0 and "toy_backbone" in text and "hidden" in text
    assert schema["additionalProperties"] is False


def test_plugin_commands_and_broken_plugins(monkeypatch, capsys):
    from hamkit import plugin_host

    host = load_plugins(environ={}, extra_plugins={"cmd": CommandPlugin(), "broken": RaisingPlugin(),
                                                   "toy": ToyPlugin()})
    monkeypatch.setattr(plugin_host, "_HOST", host)
    code, out, err = run(capsys, "hello", "--who", "hamkit")
    assert code == 0 and "hello hamkit" in out
    assert "plugin 'broken'" in err and "backbone weights missing" in err


YAML_ALPHABET = string.ascii_letters + string.digits + " :-[]{},#&*!|>'\"\n\t.%@`?"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=YAML_ALPHABET, max_size=200))
def test_malformed_yaml_never_gives_a_traceback(tmp_path, capsys, cli_host, text):
    recipe = tmp_path / "fuzz.yaml"
    recipe.write_text(text)
    code, out, err = run(capsys, "recipe", "validate", str(recipe))
    assert code == 2 and "Traceback" not in err and "error:" in err


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line=st.integers(min_value=0, max_value=GOOD.count("\n") - 1),
    junk=st.text(alphabet=YAML_ALPHABET, max_size=20),
)
def test_corrupted_recipes_never_give_a_traceback(tmp_path, capsys, cli_host, line, junk):
    lines = GOOD.splitlines()
    lines[line] = lines[line][: len(lines[line]) // 2] + junk
    recipe = tmp_path / "fuzz.yaml"
    recipe.write_text("\n".join(lines))
    code, out, err = run(capsys, "recipe", "validate", str(recipe))
    assert "Traceback" not in err
    assert code in (0, 2) and (code == 0) == (f"{recipe}: ok" in out)


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    """The installed console script itself, in a separate process."""
    import subprocess

    recipe = tmp_path / "r.yaml"
    recipe.write_text(textwrap.dedent("""\
        data: {dataset: {name: no_such_dataset}}
        """))
    proc = subprocess.run(["hamkit", "recipe", "validate", str(recipe)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and f"{recipe}:1" in proc.stderr
