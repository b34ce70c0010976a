"""Plugin discovery: entry points, broken-plugin isolation, environment switches."""

from __future__ import annotations

from hamkit.components import KINDS
from hamkit.plugin_host import load_plugins

from tests.core.toy_plugins import MisspeltHookPlugin, NotAComponentPlugin, RaisingPlugin, ToyPlugin

FIRST_PARTY = {"losses", "inducers"}


def test_first_party_plugins_come_from_entry_points():
    host = load_plugins(environ={})
    assert FIRST_PARTY <= set(host.providers)
    record = host.registry.get("loss", "h_mse")
    assert record.provider.distribution.startswith("hamkit ")
    assert record.provider.module == "hamkit_plugins.losses"


def test_a_failing_register_hook_does_not_break_the_others():
    host = load_plugins(environ={}, extra_plugins={"broken": RaisingPlugin(), "toy": ToyPlugin()})
    assert "toy_backbone" in host.registry.names("featurizer")
    [problem] = [p for p in host.problems if p.plugin == "broken"]
    assert "backbone weights missing" in problem.message and problem.stage == "register"


def test_a_misspelt_hook_is_reported_and_the_plugin_skipped():
    host = load_plugins(environ={}, extra_plugins={"typo": MisspeltHookPlugin()})
    [problem] = [p for p in host.problems if p.plugin == "typo"]
    assert "hamkit_register_featurizers" in problem.message
    assert "typo" not in host.providers


def test_registering_the_wrong_kind_is_reported():
    host = load_plugins(environ={}, extra_plugins={"wrong": NotAComponentPlugin()})
    [problem] = [p for p in host.problems if p.plugin == "wrong"]
    assert "does not derive from" in problem.message


def test_disable_switch_skips_a_plugin():
    host = load_plugins(environ={"HAMKIT_DISABLE_PLUGINS": "losses"})
    assert "losses" not in host.providers
    assert host.registry.names("loss") == [] or "h_mse" not in host.registry.names("loss")


def test_only_switch_selects_plugins():
    host = load_plugins(environ={"HAMKIT_PLUGINS": "toy"}, extra_plugins={"toy": ToyPlugin()})
    assert set(host.providers) == {"toy"}


def test_switch_naming_an_unknown_plugin_is_reported():
    host = load_plugins(environ={"HAMKIT_DISABLE_PLUGINS": "losess"})
    [problem] = host.problems
    assert problem.stage == "selection" and "losess" in problem.plugin and "losses" in problem.message


def test_every_kind_has_a_register_hook():
    from hamkit import hookspecs

    assert set(hookspecs.REGISTER_HOOKS) == set(KINDS)
    for hook_name in hookspecs.REGISTER_HOOKS.values():
        assert hasattr(hookspecs, hook_name)
