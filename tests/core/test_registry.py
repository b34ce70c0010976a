"""The registry: provenance, conflicts, did-you-mean, type checks."""

from __future__ import annotations

import pytest

from hamkit.plugin_host import load_plugins
from hamkit.registry import (
    ComponentRecord,
    DuplicateComponentError,
    InvalidComponentError,
    Provider,
    Registrar,
    Registry,
    UnknownComponentError,
)

from tests.core.toy_plugins import ClashingPlugin, ToyBackbone, ToyHead, ToyPlugin


def test_records_know_their_provider(toy_host):
    record = toy_host.registry.get("featurizer", "toy_backbone")
    assert record.provider.plugin == "toy"
    assert record.cls is ToyBackbone
    assert record.summary == "A backbone for registry tests."
    options = {option["name"]: option for option in record.options()}
    assert options["hidden"]["default"] == 16 and options["hidden"]["description"] == "Width."


def test_duplicate_name_names_both_providers():
    registry = Registry()
    first, second = Provider("alpha", "alpha_mod"), Provider("beta", "beta_mod")
    registry.add(ComponentRecord("featurizer", "net", ToyBackbone, first))
    with pytest.raises(DuplicateComponentError) as caught:
        registry.add(ComponentRecord("featurizer", "net", ToyBackbone, second))
    assert "'alpha'" in str(caught.value) and "'beta'" in str(caught.value)


def test_same_name_in_different_kinds_is_fine():
    registry = Registry()
    provider = Provider("alpha", "alpha_mod")
    registry.add(ComponentRecord("featurizer", "net", ToyBackbone, provider))
    registry.add(ComponentRecord("head", "net", ToyHead, provider))
    assert registry.names("head") == ["net"]


def test_conflicting_plugin_is_reported_and_first_registration_kept():
    host = load_plugins(environ={}, extra_plugins={"toy": ToyPlugin(), "zclash": ClashingPlugin()})
    assert host.registry.get("featurizer", "toy_backbone").provider.plugin == "toy"
    [problem] = [p for p in host.problems if p.plugin == "zclash"]
    assert "registered twice" in problem.message and "'toy'" in problem.message


def test_unknown_name_suggests_the_closest(toy_host):
    with pytest.raises(UnknownComponentError, match="Did you mean 'toy_backbone'"):
        toy_host.registry.get("featurizer", "toy_bakbone")


def test_unknown_name_without_close_match_lists_valid(toy_host):
    with pytest.raises(UnknownComponentError) as caught:
        toy_host.registry.get("featurizer", "zzzzzz")
    assert "Did you mean" not in str(caught.value) and "toy_backbone" in str(caught.value)


def test_unknown_kind_is_an_error(toy_host):
    with pytest.raises(UnknownComponentError, match="Did you mean 'featurizer'"):
        toy_host.registry.names("featuriser")


def test_registrar_refuses_a_class_of_another_kind():
    register = Registrar(Registry(), "featurizer", Provider("p", "m"))
    with pytest.raises(InvalidComponentError, match="does not derive from hamkit.components.Featurizer"):
        register(ToyHead)


def test_registrar_refuses_a_missing_name():
    class Nameless(ToyBackbone):
        name = ""

    with pytest.raises(InvalidComponentError, match="without a valid name"):
        Registrar(Registry(), "featurizer", Provider("p", "m"))(Nameless)


def test_registrar_name_override():
    registry = Registry()
    Registrar(registry, "featurizer", Provider("p", "m"))(ToyBackbone, name="renamed")
    assert registry.names("featurizer") == ["renamed"]
