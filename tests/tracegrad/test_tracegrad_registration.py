"""The plugin registers its three components through the hamkit hooks."""

from __future__ import annotations

import hamkit_plugins.tracegrad
from hamkit.components import BuildContext, Declared
from hamkit.plugin_host import load_plugins


def test_registration_and_build():
    host = load_plugins(
        extra_plugins={"tracegrad": hamkit_plugins.tracegrad}, environ={"HAMKIT_PLUGINS": "tracegrad"}
    )
    assert not host.problems
    assert host.registry.names("invariant_encoder") == ["trace_mlp"]
    assert host.registry.names("inducer") == ["gate", "gradient"]
    context = BuildContext(dtype="float64", declared=Declared(irreps="4x0e+2x1o"))
    for kind, name in (("invariant_encoder", "trace_mlp"), ("inducer", "gradient"), ("inducer", "gate")):
        record = host.registry.get(kind, name)
        assert record.summary and record.provider.plugin == "tracegrad"
        assert all(option["description"] for option in record.options())
        component = record.cls.from_config(record.config_class(), context)
        assert component.irreps_in == "4x0e+2x1o"
