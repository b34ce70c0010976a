"""The model a recipe describes: featurizer -> (invariant encoder + inducer) -> head.

The assembler builds each component from its resolved recipe entry, passing what
upstream components declared through the :class:`BuildContext`, and checks the
chain as it goes (an inducer that needs invariants without an invariant encoder
is an error naming both recipe lines). The TraceGrad modules act on the
featurizer's output, once for node features and once for pair features, each
with its own encoder and inducer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from hamkit.components import BuildContext, Featurizer, Head, Inducer, InvariantEncoder
from hamkit.data.trace_labels import max_subblocks
from hamkit.errors import HamkitError
from hamkit.recipe import ResolvedComponent, ResolvedRecipe
from hamkit.recipe.validate import origin_of


class InductionStage(nn.Module):
    """An invariant encoder (optional) and an inducer acting on one set of features."""

    def __init__(self, encoder: InvariantEncoder | None, inducer: Inducer) -> None:
        super().__init__()
        self.encoder = encoder
        self.inducer = inducer

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Induce new features and decode the traces of the original ones.

        Args:
            features: (n_items, irreps.dim).

        Returns:
            Updated features (same shape) and predicted traces (n_items, n_traces)
            or None when the encoder has no trace decoder.
        """
        induced = self.inducer(features, self.encoder)
        traces = None
        decode = getattr(self.encoder, "decode_traces", None)
        if decode is not None and getattr(self.encoder, "num_traces", None):
            traces = decode(self.encoder(features))
        return induced, traces


class HamiltonianModel(nn.Module):
    """The assembled model: graph in, packed Hamiltonian blocks (and traces) out."""

    def __init__(self, featurizer: Featurizer, node_stage: InductionStage,
                 pair_stage: InductionStage, head: Head) -> None:
        super().__init__()
        self.featurizer = featurizer
        self.node_stage = node_stage
        self.pair_stage = pair_stage
        self.head = head

    def forward(self, graph: Any) -> dict[str, torch.Tensor]:
        """Predict.

        Args:
            graph: A (batched) graph from :mod:`hamkit.data.graph`.

        Returns:
            ``"hamiltonian"`` in the graph's packed block layout, plus
            ``"node_traces"`` / ``"pair_traces"`` when the encoders decode traces.
        """
        features = self.featurizer(graph)
        node, node_traces = self.node_stage(features.node)
        pair, pair_traces = self.pair_stage(features.pair)
        prediction = dict(self.head(replace(features, node=node, pair=pair), graph))
        for key, traces in (("node_traces", node_traces), ("pair_traces", pair_traces)):
            if traces is not None:
                prediction[key] = traces
        return prediction


def _build(entry: ResolvedComponent, context: BuildContext) -> Any:
    return entry.record.cls.from_config(entry.config, context)


def _check_chain(recipe: ResolvedRecipe) -> None:
    inducer = recipe.component("model", "inducer")
    if inducer.record.cls.needs_invariants and recipe.component("model", "invariant_encoder") is None:
        where = origin_of(recipe.lines, ("model", "inducer"))
        raise HamkitError(
            f"{where}: model.inducer: inducer '{inducer.record.name}' needs an invariant encoder, "
            "but model.invariant_encoder is not set; add e.g. `invariant_encoder: {name: trace_mlp}` "
            "or use `inducer: {name: none}`"
        )


def build_model(recipe: ResolvedRecipe, context: BuildContext) -> HamiltonianModel:
    """Build the model a resolved recipe describes.

    Args:
        recipe: The resolved recipe.
        context: Species, basis and dtype from the data; ``declared`` is filled here
            with ``num_traces`` (from the basis), ``node_irreps`` and ``pair_irreps``
            (and ``irreps`` for each stage).

    Returns:
        The model, parameters in ``context.dtype``.

    Raises:
        HamkitError: The components do not fit together.
    """
    _check_chain(recipe)
    if context.basis is not None:
        context.declared.setdefault("num_traces", max_subblocks(context.basis))
    featurizer = _build(recipe.component("model", "featurizer"), context)
    context.declared.update(node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    stages = []
    for irreps in (featurizer.node_irreps, featurizer.pair_irreps):
        stage_context = replace(context, declared={**context.declared, "irreps": irreps})
        encoder_entry = recipe.component("model", "invariant_encoder")
        encoder = _build(encoder_entry, stage_context) if encoder_entry else None
        stages.append(InductionStage(encoder, _build(recipe.component("model", "inducer"), stage_context)))
    head = _build(recipe.component("model", "head"), context)
    dtype = getattr(torch, context.dtype)
    return HamiltonianModel(featurizer, stages[0], stages[1], head).to(dtype)
