"""What already-built components declare to the next ones: the typed ``BuildContext.declared``.

The assembler fills a :class:`Declared` as it builds the chain featurizer ->
(invariant encoder + inducer) -> head, and components read its fields in their
``from_config``. Every field is an e3nn irreps string or a count, None while no
upstream component has declared it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, cast


@dataclass(frozen=True)
class Declared:
    """What upstream components declared, for building the next one.

    Attributes:
        node_irreps: e3nn irreps of the featurizer's node features (n_atoms, dim).
        pair_irreps: e3nn irreps of the featurizer's pair features (n_pairs, dim).
        irreps: e3nn irreps of the features of the induction stage being built (its
            encoder and inducer act on (n_items, dim) features of these irreps);
            None outside a stage.
        num_traces: Trace labels per item the data provides (the largest number of
            (shell, shell) sub-blocks of a block in the basis); None when there is no
            basis or the stage decodes no traces.
    """

    node_irreps: str | None = None
    pair_irreps: str | None = None
    irreps: str | None = None
    num_traces: int | None = None

    def updated(self, **changes: str | int | None) -> "Declared":
        """A copy with ``changes`` applied (unknown field names are a TypeError)."""
        # Each name takes its own field's type, which one ``**changes`` annotation cannot say.
        return replace(self, **cast(dict[str, Any], changes))

    def names(self) -> list[str]:
        """Names of the fields that are set, for error messages ("declared so far: ...")."""
        return [field.name for field in fields(self) if getattr(self, field.name) is not None]

    def describe(self) -> str:
        """The set field names joined by commas, or ``"nothing"``."""
        return ", ".join(self.names()) or "nothing"
