"""qhnet and cg_expansion register through the plugin hooks."""

from __future__ import annotations

import hamkit_plugins.heads as heads_plugin
import hamkit_plugins.qhnet as qhnet_plugin
from hamkit.plugin_host import load_plugins


def test_registered_through_hooks():
    host = load_plugins(
        extra_plugins={"qhnet": qhnet_plugin, "heads": heads_plugin},
        environ={"HAMKIT_PLUGINS": "qhnet,heads"},
    )
    assert host.problems == []
    featurizer = host.registry.get("featurizer", "qhnet")
    head = host.registry.get("head", "cg_expansion")
    assert featurizer.provider.plugin == "qhnet" and head.provider.plugin == "heads"
    assert featurizer.summary.startswith("QHNet backbone")
    assert head.summary.startswith("Hamiltonian blocks")
    options = {option["name"]: option for option in featurizer.options()}
    assert options["hidden"]["default"] == 128 and options["pair_cutoff"]["description"]
    assert {option["name"] for option in head.options()} == {"parity", "missing_irreps", "onsite_bias"}
