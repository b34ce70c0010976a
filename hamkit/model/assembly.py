"""The model a recipe describes: featurizer -> (invariant encoder + inducer) -> head.

The assembler builds each component from its resolved recipe entry, passing what
upstream components declared through the :class:`BuildContext` (its typed
:class:`~hamkit.components.Declared`), and checks the chain as it goes: an inducer
that needs invariants without an invariant encoder, and any stage whose declared
irreps do not fit its neighbours' (:mod:`hamkit.model.contracts`), are errors
naming the recipe line. The TraceGrad modules act on the
featurizer's output, once for node features and once for pair features (these
stages also decode the predicted traces), and, where the featurizer exposes its
blocks (:meth:`Featurizer.induction_points`), after each block as well.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import torch
from torch import nn

from hamkit.components import BuildContext, Featurizer, Head, Inducer, InvariantEncoder
from hamkit.components.features import EquivariantFeatures
from hamkit.data.graph_fields import HAMILTONIAN, NODE_TRACES, PAIR_TRACES, StructureGraph
from hamkit.data.trace_labels import max_subblocks
from hamkit.errors import HamkitError
from hamkit.model.baseline import OnsiteBaseline
from hamkit.model.contracts import check_encoder, check_featurizer, check_head, check_inducer
from hamkit.recipe import ResolvedComponent, ResolvedRecipe
from hamkit.recipe.validate import origin_of


class InductionStage(nn.Module):
    """An invariant encoder (optional) and an inducer acting on one set of features."""

    def __init__(self, encoder: InvariantEncoder | None, inducer: Inducer, decode_traces: bool = True) -> None:
        super().__init__()
        self.encoder = encoder
        self.inducer = inducer
        self.decode_traces = decode_traces

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Induce new features and decode the traces of the original ones.

        Args:
            features: (n_items, irreps.dim).

        Returns:
            Updated features (same shape) and predicted traces (n_items, n_traces)
            or None when the encoder has no trace decoder.
        """
        encoder = self.encoder
        if encoder is None:
            return self.inducer(features, None), None
        computed: list[tuple[torch.Tensor, torch.Tensor]] = []

        def invariants_of(values: torch.Tensor) -> torch.Tensor:
            invariants = encoder(values)
            computed.append((values, invariants))
            return invariants

        induced = self.inducer(features, invariants_of)
        if not (self.decode_traces and encoder.num_traces):
            return induced, None
        # In training the gradient inducer encodes ``features`` itself: reuse that z (and its
        # graph) instead of a second encoder pass; otherwise (e.g. a detached copy under
        # no_grad) encode again.
        reused = [z for values, z in computed if values is features]
        return induced, encoder.decode_traces(reused[0] if reused else encoder(features))


class HamiltonianModel(nn.Module):
    """The assembled model: graph in, packed Hamiltonian blocks (and traces) out.

    Attributes:
        block_stages: Stages acting between featurizer blocks, keyed
            ``"<block>:<attribute>"`` (see :class:`InductionPoint`); empty when the
            featurizer does not expose blocks or the recipe says output only.
    """

    def __init__(self, featurizer: Featurizer, node_stage: InductionStage,
                 pair_stage: InductionStage, head: Head,
                 block_stages: dict[str, InductionStage] | None = None,
                 baseline: OnsiteBaseline | None = None) -> None:
        super().__init__()
        self.baseline = baseline
        self.featurizer = featurizer
        self.node_stage = node_stage
        self.pair_stage = pair_stage
        self.head = head
        self.block_stages = nn.ModuleDict(block_stages or {})

    def _featurize(self, graph: StructureGraph) -> EquivariantFeatures:
        if not self.block_stages:
            return self.featurizer(graph)
        state = None
        for block, state in enumerate(self.featurizer.forward_blocks(graph)):
            for key, stage in self.block_stages.items():
                at_block, attribute = key.split(":")
                if int(at_block) == block:
                    setattr(state, attribute, stage(getattr(state, attribute))[0])
        return self.featurizer.features(state)

    def forward(self, graph: StructureGraph) -> dict[str, torch.Tensor]:
        """Predict.

        Args:
            graph: A (batched) graph from :mod:`hamkit.data.graph`.

        Returns:
            ``"hamiltonian"`` in the graph's packed block layout, plus
            ``"node_traces"`` / ``"pair_traces"`` when the encoders decode traces.
        """
        if "block_cell_shift" in graph and not self.featurizer.supports_periodic:
            raise HamkitError(
                f"featurizer '{self.featurizer.name}' does not support periodic structures (it would "
                "ignore the periodic images); use one that does, e.g. deeph_e3")
        features = self._featurize(graph)
        node, node_traces = self.node_stage(features.node)
        pair, pair_traces = self.pair_stage(features.pair)
        prediction = dict(self.head(replace(features, node=node, pair=pair), graph))
        if self.baseline is not None:
            prediction[HAMILTONIAN] = self.baseline(prediction[HAMILTONIAN], graph)
        for key, traces in ((NODE_TRACES, node_traces), (PAIR_TRACES, pair_traces)):
            if traces is not None:
                prediction[key] = traces
        return prediction


def _build(entry: ResolvedComponent, context: BuildContext) -> Any:
    return entry.record.cls.from_config(entry.config, context)


def _check_chain(recipe: ResolvedRecipe) -> None:
    inducer = recipe.required_component("model", "inducer")
    inducer_class = cast(type[Inducer], inducer.record.cls)  # the registry holds only Inducers as inducers
    if inducer_class.needs_invariants and recipe.component("model", "invariant_encoder") is None:
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
        HamkitError: The components do not fit together (missing encoder, or declared
            irreps that differ between a stage and its neighbours).
    """
    _check_chain(recipe)
    if context.basis is not None and context.declared.num_traces is None:
        context.declared = context.declared.updated(num_traces=max_subblocks(context.basis))
    featurizer = _build(recipe.required_component("model", "featurizer"), context)
    check_featurizer(featurizer, recipe)
    context.declared = context.declared.updated(
        node_irreps=featurizer.node_irreps, pair_irreps=featurizer.pair_irreps)
    node_stage = _build_stage(recipe, context, featurizer.node_irreps, "node")
    pair_stage = _build_stage(recipe, context, featurizer.pair_irreps, "pair")
    block_stages = {}
    if recipe.sections.model.induce_after_blocks and recipe.component("model", "invariant_encoder"):
        for point in featurizer.induction_points():
            block_stages[f"{point.block}:{point.attribute}"] = _build_stage(
                recipe, context, point.irreps, f"block {point.block} {point.attribute}",
                decode_traces=False,
            )
    head = _build(recipe.required_component("model", "head"), context)
    check_head(head, featurizer.node_irreps, featurizer.pair_irreps, recipe)
    baseline = None
    if recipe.sections.model.onsite_baseline and context.basis is not None:
        baseline = OnsiteBaseline(context.basis, context.statistics.get("onsite_mean"))
    dtype = getattr(torch, context.dtype)
    return HamiltonianModel(featurizer, node_stage, pair_stage, head, block_stages, baseline).to(dtype)


def _build_stage(
    recipe: ResolvedRecipe, context: BuildContext, irreps: str, stage: str, decode_traces: bool = True
) -> InductionStage:
    """An encoder (if the recipe has one) and the recipe's inducer for features of ``irreps``.

    Args:
        recipe: The resolved recipe.
        context: The build context after the featurizer; ``declared.irreps`` is set to
            ``irreps`` for the stage (and ``num_traces`` cleared when it decodes none).
        irreps: e3nn irreps of the features the stage acts on.
        stage: Which features, for error messages (``"node"``, ``"block 0 node"``...).
        decode_traces: Whether the stage decodes traces.

    Raises:
        HamkitError: The encoder or inducer declares other irreps than ``irreps``.
    """
    declared = context.declared.updated(irreps=irreps)
    if not decode_traces:
        declared = declared.updated(num_traces=None)
    stage_context = replace(context, declared=declared)
    encoder_entry = recipe.component("model", "invariant_encoder")
    encoder = _build(encoder_entry, stage_context) if encoder_entry else None
    if encoder is not None:
        check_encoder(encoder, irreps, stage, recipe)
    inducer = _build(recipe.required_component("model", "inducer"), stage_context)
    check_inducer(inducer, irreps, stage, recipe)
    return InductionStage(encoder, inducer, decode_traces)
