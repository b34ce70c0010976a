"""JSON schema of recipes for editors, with every registered component's options.

Each component entry becomes a union of the registered components of its kind,
discriminated by ``name``, so an editor completes names and options.
"""

from __future__ import annotations

from types import GenericAlias
from typing import Any, Literal, Union

from pydantic import ConfigDict, Field, create_model

from hamkit.recipe import schema
from hamkit.registry import Registry


def _entry_union(registry: Registry, kind: str, extra_fields: dict[str, Any]) -> Any:
    variants = []
    for record in registry.records(kind):
        name_type: Any = Literal[record.name]  # a type built at run time
        variants.append(
            create_model(
                f"{kind}__{record.name}",
                __base__=record.config_class,
                __doc__=record.summary,
                name=(name_type, Field(description=record.summary)),
                **extra_fields,
            )
        )
    if not variants:
        return schema.ComponentEntry
    return Union[tuple(variants)]  # noqa: UP007 - built dynamically


def recipe_json_schema(registry: Registry) -> dict[str, Any]:
    """The JSON schema of a recipe file (``extends`` included).

    Args:
        registry: Components to describe.
    """
    # The field types are built at run time, so they are plain values (Any) to mypy.
    entry = {kind: _entry_union(registry, kind, {}) for kind in schema.COMPONENT_KIND_OF_PATH.values()}
    dataset, featurizer, encoder, inducer, head = (
        entry[kind] for kind in ("dataset", "featurizer", "invariant_encoder", "inducer", "head")
    )
    loss = _entry_union(registry, "loss", {"weight": (float, Field(1.0, ge=0.0))})
    losses: Any = GenericAlias(list, (loss,))  # list[loss]
    strict = ConfigDict(extra="forbid")
    data = create_model("data", __config__=strict, dataset=(dataset, ...),
                        split=(schema.SplitSection, Field(default_factory=schema.SplitSection)))
    model = create_model(
        "model", __config__=strict,
        featurizer=(featurizer, ...),
        invariant_encoder=(encoder | None, None),
        inducer=(inducer, None),
        head=(head, ...),
    )
    recipe = create_model(
        "hamkit_recipe", __config__=strict,
        extends=(str | list[str] | None, Field(None, description="Recipe file(s) this one extends.")),
        description=(str, ""),
        data=(data, ...),
        model=(model, ...),
        loss=(losses, ...),
        train=(schema.TrainSection, ...),
    )
    return recipe.model_json_schema()

