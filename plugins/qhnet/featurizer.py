"""The ``qhnet`` featurizer: QHNet's SO(3)-equivariant backbone (Yu et al., ICML 2023).

Design (our own implementation of the published architecture):

* species embedding -> ``hidden x 0e`` node features, zero-padded to the node irreps
  ``hidden x (0e + 1e + ... + lmax e)``;
* radial embedding (Gaussian or Bessel basis, cosine smooth cutoff) and spherical harmonics
  up to ``sh_lmax`` of every pair vector, taken in e3nn's (y, z, x) frame
  (:mod:`hamkit.physics.frames`);
* ``num_layers`` blocks; each runs one tensor-product message-passing layer over the
  graph's pairs closer than ``cutoff``; from block ``pair_start_layer`` (1-based) onwards
  each block also adds to the on-site (self) features of every atom and to the pair
  features of every pair of the graph's ``pair_index`` (which decides which off-diagonal
  blocks exist: fully connected as in QHNet, or within the graph's cutoff; with
  ``pair_cutoff`` set, pair features vanish smoothly at that distance).

Parity: all features are even (``0e, 1e, 2e, ...``) and spherical harmonics are relabelled
even, so the model is equivariant under proper rotations (SO(3)) only, not inversion. That is
deliberate: Hamiltonian sub-blocks contain "unnatural" irreps (p-p has 1e, p-d has 2o), which an
all-even backbone still provides degree by degree when the head ignores parity.

Outputs: ``node`` = accumulated self features, ``pair`` = accumulated pair features, both with
irreps ``hidden x (0e + ... + lmax e)``, transforming with e3nn's ``D(P R P^T)`` when positions
are rotated ``x -> R x``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from hamkit.components import BuildContext, ComponentConfig, Featurizer
from hamkit.components.features import EquivariantFeatures
from hamkit.components.featurizer import InductionPoint
from hamkit.data.graph_fields import StructureGraph
from hamkit.nn import MAX_ATOMIC_NUMBER, RadialEmbedding, cosine_envelope, species_indices, species_table
from hamkit.physics.frames import to_e3nn_frame
from hamkit.recipe.bounds import Degree, LayerCount, Width
from hamkit_plugins.qhnet.compile_check import check_cpu_compiler
from hamkit_plugins.qhnet.irreps_util import even_irreps, spherical_harmonics_by_degree
from hamkit_plugins.qhnet.layers import (
    ConvLayer,
    OutputProjection,
    PairLayer,
    QHNetBlock,
    QHNetGeometry,
    QHNetState,
    SelfLayer,
)
from hamkit_plugins.qhnet.so3 import SO3TensorProduct, allow_compiles_per_product


class QHNetConfig(ComponentConfig):
    """Options of the ``qhnet`` featurizer (distances in Angstrom)."""

    hidden: Width = Field(128, ge=1, description="Channels per degree of the node/pair irreps.")
    sh_lmax: Degree = Field(4, ge=0, description="Highest degree of the edge spherical harmonics.")
    lmax: Degree | None = Field(
        None, ge=0,
        description="Highest degree of node/pair irreps. None: max(sh_lmax, 2 x the basis' "
        "highest shell degree), so that every sub-block irrep is available (4 for def2-SVP).",
    )
    num_layers: LayerCount = Field(5, ge=1, description="Number of message-passing blocks.")
    pair_start_layer: int = Field(
        3, ge=1, description="First block (1-based) that adds self and pair features."
    )
    bottleneck: Width = Field(
        32, ge=1,
        description="Channels per degree inside the self/pair tensor products (the reference "
        "QHNet runs them at its full width, 128).",
    )
    output_channels: Width | None = Field(
        None, ge=1,
        description="Channels per degree of the output self/pair features: a linear map from "
        "'hidden' channels down to this many before the head (the reference QHNet's output "
        "bottleneck is 32). None: no map, the outputs keep 'hidden' channels.",
    )
    pair_edge_product: bool = Field(
        True,
        description="Pair layers add a tensor product of one atom's features with the pair "
        "direction's spherical harmonics to the product of both atoms' features. The "
        "reference QHNet's pair layers have only the latter: false matches them.",
    )
    num_radial: Width = Field(32, ge=1, description="Size of the radial basis.")
    radial_basis: Literal["gaussian", "bessel"] = Field("gaussian", description="Radial basis family.")
    radial_hidden: Width = Field(64, ge=1, description="Width of the MLPs making tensor-product weights.")
    gate_hidden: Width | None = Field(
        None, ge=1,
        description="Width of the message-passing norm gate's MLP (None: radial_hidden). The "
        "reference QHNet's gates are as wide as their input, channels x (lmax + 1): 640.",
    )
    cutoff: float = Field(
        8.0, gt=0, description="Message-passing radius (Angstrom; QHNet's 15 Bohr ~ 7.9 A)."
    )
    pair_cutoff: float | None = Field(
        None, gt=0,
        description="Pair range (Angstrom): graphs hold pairs up to it (so farther blocks are "
        "neither predicted nor fitted, and messages too stay within it), the pair radial basis "
        "spans it and pair features fade smoothly to zero at it. None: fully connected pairs as "
        "in QHNet (radial basis spans cutoff; farther pairs get distance-independent weights).",
    )
    avg_neighbors: float = Field(10.0, gt=0, description="Divides the summed messages.")
    compile: bool = Field(
        False,
        description="Run the tensor products through torch.compile (inductor; on CPU it needs a "
        "C++ compiler). Same arithmetic up to rounding; a one-off compile of 1-3 minutes, then "
        "about 1.6x faster training steps at the reference sizes on CPU. Not for double "
        "backward through the backbone (e.g. forces).",
    )

    @model_validator(mode="after")
    def _check_layers(self) -> "QHNetConfig":
        if self.pair_start_layer > self.num_layers:
            raise ValueError(
                f"pair_start_layer ({self.pair_start_layer}) must be <= num_layers ({self.num_layers})"
            )
        return self


def resolve_lmax(config: QHNetConfig, basis_max_l: int | None) -> int:
    """Highest feature degree: ``config.lmax``, else ``max(sh_lmax, 2 * basis_max_l)``, else ``sh_lmax``."""
    if config.lmax is not None:
        return config.lmax
    if basis_max_l is None:
        return config.sh_lmax
    return max(config.sh_lmax, 2 * basis_max_l)


class QHNetFeaturizer(Featurizer):
    """QHNet backbone: SO(3) message passing with self (on-site) and pair features.

    Build with ``QHNetFeaturizer.from_config(QHNetFeaturizer.Config(...), BuildContext(...))``;
    the context's ``species`` (or its basis' elements) fixes the embedding table, its basis the
    default ``lmax`` (twice the highest shell degree) and its ``dtype`` the parameter dtype.
    After building, ``node_irreps`` and ``pair_irreps`` hold the e3nn strings of the outputs
    (``C x (0e + ... + lmax e)`` with ``C = output_channels or hidden``) and ``hidden_irreps``
    that of the message-passing features (``hidden x (0e + ... + lmax e)``).

    Block-by-block use (e.g. to attach TraceGrad after each block): ``self.blocks`` is a
    ``ModuleList`` of :class:`QHNetBlock`; :meth:`forward_blocks` yields the live
    :class:`QHNetState` after each block; its ``node``, ``self_features`` (per atom) and
    ``pair_features`` (per pair of ``pair_index``) all have irreps ``hidden_irreps`` (flat e3nn
    layout). Assigning to the yielded state's ``node``,
    ``self_features`` or ``pair_features`` before asking for the next block changes what the
    next block sees; :meth:`features` turns the final state into ``EquivariantFeatures``.
    ``forward(graph)`` is exactly ``features(last state of forward_blocks(graph))``.
    """

    name: ClassVar[str] = "qhnet"
    Config: ClassVar[type[ComponentConfig]] = QHNetConfig

    species_lookup: torch.Tensor

    def __init__(
        self, config: QHNetConfig, species: tuple[int, ...] = (), basis_max_l: int | None = None
    ) -> None:
        """Create the modules (float32 parameters; ``from_config`` casts to the context dtype).

        Args:
            config: Options.
            species: Embedded atomic numbers (empty: all of Z = 1..118).
            basis_max_l: Highest shell degree of the orbital basis, for the default ``lmax``.
        """
        super().__init__()
        self.config = config
        lmax = resolve_lmax(config, basis_max_l)
        self.lmax = lmax
        self.pair_cutoff = config.pair_cutoff
        self.irreps = even_irreps(config.hidden, lmax)
        self.hidden_irreps = str(self.irreps)
        output_irreps = str(even_irreps(config.output_channels or config.hidden, lmax))
        self.node_irreps = output_irreps
        self.pair_irreps = output_irreps

        species = tuple(sorted(set(species))) or tuple(range(1, MAX_ATOMIC_NUMBER + 1))
        self.register_buffer("species_lookup", species_table(species, "qhnet"), persistent=False)
        self.species = species
        self.embedding = nn.Embedding(len(species), config.hidden)

        self.message_radial = RadialEmbedding(config.radial_basis, config.num_radial, config.cutoff)
        pair_range = config.pair_cutoff if config.pair_cutoff is not None else config.cutoff
        self.pair_radial = RadialEmbedding(config.radial_basis, config.num_radial, pair_range)

        blocks = []
        for index in range(1, config.num_layers + 1):
            with_pairs = index >= config.pair_start_layer
            blocks.append(
                QHNetBlock(
                    ConvLayer(
                        config.hidden, lmax, config.sh_lmax, config.num_radial,
                        config.radial_hidden, config.avg_neighbors, config.gate_hidden,
                    ),
                    SelfLayer(config.hidden, lmax, config.bottleneck) if with_pairs else None,
                    PairLayer(
                        config.hidden, lmax, config.sh_lmax, config.bottleneck,
                        config.num_radial, config.radial_hidden, config.pair_edge_product,
                    ) if with_pairs else None,
                )
            )
        self.blocks = nn.ModuleList(blocks)
        products = [module for module in self.blocks.modules() if isinstance(module, SO3TensorProduct)]
        for module in products:
            module.compiled = config.compile
        if config.compile:
            allow_compiles_per_product(len(products))
        self.self_output = OutputProjection(config.hidden, lmax, config.output_channels)
        self.pair_output = OutputProjection(config.hidden, lmax, config.output_channels)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "QHNetFeaturizer":
        """Build from options and context.

        Args:
            config: A :class:`QHNetConfig`.
            context: ``species`` (or ``basis.elements``) sets the embedded elements;
                ``basis`` (when given) the default ``lmax``; ``dtype``
                (``"float32"``/``"float64"``) the parameter dtype.

        Returns:
            The featurizer, parameters in ``context.dtype``.

        Raises:
            HamkitError: ``compile`` is set, the model will run on CPU (CUDA is not available)
                and inductor would find no C++ compiler (:func:`check_cpu_compiler`).
        """
        assert isinstance(config, QHNetConfig)
        if config.compile:
            check_cpu_compiler()
        species = tuple(context.species) or (
            tuple(context.basis.elements) if context.basis is not None else ()
        )
        basis_max_l = context.basis.max_l if context.basis is not None else None
        model = cls(config, species, basis_max_l)
        return model.to(getattr(torch, context.dtype))

    # ------------------------------------------------------------------ running
    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype."""
        return self.embedding.weight.dtype

    def geometry(self, graph: StructureGraph) -> QHNetGeometry:
        """Species indices, message edges and pair geometry of a (batched) graph.

        Args:
            graph: Needs ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom and
                ``pair_index`` (2, n_pairs).

        Returns:
            The geometry, in the parameter dtype.

        Raises:
            HamkitError: An element that is not in the embedding.
        """
        species = species_indices(self.species_lookup, graph.z, "qhnet")
        pos = graph.pos.to(self.dtype)
        pair_index = graph.pair_index.long()
        vectors = pos[pair_index[1]] - pos[pair_index[0]]
        distance = vectors.norm(dim=-1)
        sh = spherical_harmonics_by_degree(to_e3nn_frame(vectors), self.config.sh_lmax)
        inside = torch.nonzero(distance < self.config.cutoff).squeeze(1)
        message_distance = distance[inside]
        return QHNetGeometry(
            species=species,
            message_index=pair_index[:, inside],
            message_sh=[y[inside] for y in sh],
            message_radial=self.message_radial(message_distance),
            message_envelope=cosine_envelope(message_distance, self.config.cutoff),
            pair_index=pair_index,
            pair_sh=sh,
            pair_radial=self.pair_radial(distance),
            pair_envelope=(
                torch.ones_like(distance) if self.config.pair_cutoff is None
                else cosine_envelope(distance, self.config.pair_cutoff)
            ),
        )

    def initial_state(self, graph: StructureGraph) -> QHNetState:
        """State before the first block: embeddings padded to the node irreps, zero self/pair features."""
        geometry = self.geometry(graph)
        embedded = self.embedding(geometry.species)
        n_atoms, dim = embedded.shape[0], self.irreps.dim
        node = torch.cat([embedded, embedded.new_zeros(n_atoms, dim - embedded.shape[1])], dim=-1)
        return QHNetState(
            geometry=geometry,
            node=node,
            self_features=embedded.new_zeros(n_atoms, dim),
            pair_features=embedded.new_zeros(geometry.pair_index.shape[1], dim),
        )

    def induction_points(self) -> list[InductionPoint]:
        """TraceGrad acts on the message-passing node features after every block but the last.

        After the last block only the self and pair features are used; TraceGrad acts
        on those through the model's output stages.
        """
        return [InductionPoint(k, "node", self.hidden_irreps) for k in range(len(self.blocks) - 1)]

    def forward_blocks(self, graph: StructureGraph) -> Iterator[QHNetState]:
        """Run block by block, yielding the live state after each block.

        Args:
            graph: As for :meth:`forward`.

        Yields:
            :class:`QHNetState` after block 1, 2, ..., ``num_layers`` (``state.layer``).
            Fields assigned on the yielded object are what the next block receives.
        """
        state = self.initial_state(graph)
        for block in self.blocks:
            state = block(state)
            yield state

    def features(self, state: QHNetState) -> EquivariantFeatures:
        """Final output from a state: node = self features (n_atoms, dim), pair = pair features
        (n_pairs, dim), each mapped to ``output_channels`` when that is set."""
        return EquivariantFeatures(
            node=self.self_output(state.self_features),
            pair=self.pair_output(state.pair_features),
            pair_index=state.geometry.pair_index,
            node_irreps=self.node_irreps,
            pair_irreps=self.pair_irreps,
        )

    def forward(self, graph: StructureGraph) -> EquivariantFeatures:
        """Equivariant features of a (batched) graph.

        Args:
            graph: ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom in (x, y, z),
                ``pair_index`` (2, n_pairs) ordered pairs (both directions).

        Returns:
            ``node`` (n_atoms, dim) on-site features, ``pair`` (n_pairs, dim) features of the
            graph's pairs in ``pair_index`` order; irreps ``node_irreps``/``pair_irreps``.
        """
        return self.run_blocks(graph)
