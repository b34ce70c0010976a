"""The ``deeph_e3`` featurizer: DeepH-E3's E(3)-equivariant backbone (Gong et al., Nat. Commun. 2023).

Design (our own implementation of the published architecture):

* species embedding -> ``m x 0e`` node features; radial embedding -> ``m' x 0e`` initial
  edge features (``m``, ``m'``: the ``0e`` multiplicities of the node and edge irreps);
* the edges are the graph's ordered pairs ``pair_index`` (DeepH's hoppings, both directions;
  periodic images through ``pair_shift``); each carries the spherical harmonics (up to
  ``sh_lmax``) of ``r_ij = pos_j - pos_i (+ pair_shift)`` in e3nn's (y, z, x) frame
  (:mod:`hamkit.physics.frames`) and a Gaussian radial embedding times a smooth cutoff;
* ``num_blocks`` blocks, each a node update block then an edge update block
  (:mod:`hamkit_plugins.deeph_e3.blocks`): tensor products of ``x_i (+) x_j (+) e_ij`` with
  the harmonics, weights from an MLP of the radial embedding, gate, per-element (per
  element-pair) self-connection, equivariant layer norm. Node updates sum messages over the
  edges closer than ``cutoff``;
* outputs: ``node`` = node features after the last node update (on-site blocks),
  ``pair`` = edge features after the last edge update (the blocks of ``pair_index``).

Parity. With ``parity: physical`` the model is E(3)-equivariant: harmonics have parity
``(-1)^l``, tensor-product paths respect parity, features transform with their irreps'
parity under inversion. Hamiltonian sub-blocks need "unnatural" irreps too (p-p: ``1e``;
p-d: ``2o``; d-d: ``1e``, ``3e``), which natural-parity features (``1o, 2e, 3o, 4e``) cannot
express. DeepH-E3 keeps both parities in its hidden irreps; tensor products of natural
irreps feed them (``1o x 1o -> 1e``, ``1o x 2e -> 2o``, ...). Here ``both_parities``
(default) adds, to the node and edge irreps, the opposite-parity copy of every entry of
degree >= 1, so the default ``64x0e+32x1o+16x2e+8x3o+8x4e`` becomes
``64x0e+32x1o+32x1e+16x2o+16x2e+8x3o+8x3e+8x4o+8x4e`` and works with ``cg_expansion`` with
``parity: physical`` (or ``ignore``) for def2-SVP molecules. With ``parity: so3`` every irrep
and the harmonics are relabelled even, as in qhnet: equivariant under rotations only, each
degree usable for any sub-block with the head's ``parity: ignore``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import torch
from pydantic import Field, field_validator, model_validator
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, ComponentConfig, Featurizer
from hamkit.components.features import EquivariantFeatures
from hamkit.components.featurizer import InductionPoint
from hamkit.data.graph_fields import StructureGraph
from hamkit.errors import HamkitError
from hamkit.nn import RadialEmbedding, cosine_envelope, species_indices, species_table
from hamkit.physics.frames import to_e3nn_frame
from hamkit.recipe.bounds import LayerCount, Width, check_irreps_bounds
from hamkit_plugins.deeph_e3.blocks import (
    DeepHE3Block,
    DeepHE3Geometry,
    DeepHE3State,
    EdgeUpdate,
    NodeUpdate,
)
from hamkit_plugins.deeph_e3.irreps import MAX_DEGREE, IrrepsSpec
from hamkit_plugins.deeph_e3.ops import TypeGroups


class DeepHE3Config(ComponentConfig):
    """Options of the ``deeph_e3`` featurizer (distances in Angstrom)."""

    node_irreps: str = Field(
        "64x0e+32x1o+16x2e+8x3o+8x4e",
        description="Hidden node irreps (e3nn string; DeepH-E3's default, natural parities). "
        "Must contain 0e. See both_parities and parity for how it is completed.",
    )
    edge_irreps: str | None = Field(
        None, description="Hidden edge (pair) irreps; None: the same as node_irreps. Must contain 0e."
    )
    parity: Literal["physical", "so3"] = Field(
        "physical",
        description="'physical': E(3)-equivariant, harmonics of parity (-1)^l, features keep "
        "their parity (use the head's parity: physical, or ignore); 'so3': every irrep and the "
        "harmonics relabelled even, rotations only (use the head's parity: ignore).",
    )
    both_parities: bool = Field(
        True,
        description="(parity: physical) add the opposite-parity copy of every node/edge irrep of "
        "degree >= 1, as DeepH-E3 keeps both parities, so that unnatural sub-block irreps (p-p 1e, "
        "p-d 2o, d-d 1e/3e) exist. False: use the irreps exactly as given.",
    )
    num_blocks: LayerCount = Field(3, ge=1, description="Number of (node update, edge update) blocks.")
    sh_lmax: int = Field(
        4, ge=0, le=MAX_DEGREE, description="Highest degree of the edge spherical harmonics."
    )
    num_radial: Width = Field(128, ge=1, description="Number of Gaussians of the radial basis.")
    radial_hidden: Width = Field(64, ge=1, description="Width of the MLPs making tensor-product weights.")
    cutoff: float = Field(
        7.2, gt=0,
        description="Radius (Angstrom) of message passing and of the radial basis; also the pair "
        "cutoff declared to the data pipeline (DeepH-E3's edges are the hoppings within it).",
    )
    pair_envelope: bool = Field(
        True,
        description="Multiply edge features by the smooth cutoff after every edge update, so "
        "predicted pair blocks fade to zero at the cutoff (False: DeepH-E3's hard cutoff).",
    )
    avg_neighbors: float = Field(10.0, gt=0, description="Divides the summed node messages.")

    def resolved_irreps(self) -> tuple[IrrepsSpec, IrrepsSpec]:
        """Node and edge irreps as the model uses them (after ``parity`` and ``both_parities``).

        Raises:
            ValueError: Unparsable irreps, degree too high, or no ``0e`` channels.
        """
        node = IrrepsSpec.parse(self.node_irreps, "node_irreps")
        edge = IrrepsSpec.parse(self.edge_irreps, "edge_irreps") if self.edge_irreps is not None else node
        if self.parity == "so3":
            node, edge = node.even(), edge.even()
        elif self.both_parities:
            node, edge = node.with_both_parities(), edge.with_both_parities()
        for what, spec in (("node_irreps", node), ("edge_irreps", edge)):
            if spec.mul_of((0, 1)) == 0:
                raise ValueError(
                    f"{what} '{spec}' has no 0e channels; they are needed for the species/radial "
                    "embedding and the gates (e.g. start it with '16x0e+')"
                )
        return node, edge

    @field_validator("node_irreps", "edge_irreps")
    @classmethod
    def _parse(cls, value: str | None, info) -> str | None:
        if value is not None:
            IrrepsSpec.parse(value, info.field_name)
            check_irreps_bounds(value, info.field_name)
        return value

    @model_validator(mode="after")
    def _check(self) -> "DeepHE3Config":
        if self.parity == "so3" and self.both_parities and "both_parities" in self.model_fields_set:
            raise ValueError(
                "both_parities applies to parity: physical only (parity: so3 relabels every irrep "
                "even); drop it or set parity: physical"
            )
        self.resolved_irreps()
        return self


class DeepHE3Featurizer(Featurizer):
    """DeepH-E3 backbone: alternating E(3)-equivariant node and edge update blocks on the hopping graph.

    Build with ``DeepHE3Featurizer.from_config(DeepHE3Featurizer.Config(...), BuildContext(...))``;
    the context's ``species`` (or its basis' elements) fixes the embedding and the
    self-connection tables, its ``dtype`` the parameter dtype. After building,
    ``node_irreps`` / ``pair_irreps`` hold the e3nn strings of the outputs (sorted, simplified,
    completed as ``parity``/``both_parities`` say) and ``pair_cutoff`` the edge range (Angstrom).

    Block-by-block use (TraceGrad attaches after every edge update block in DeepH-E3):
    ``self.blocks`` is a ``ModuleList`` of :class:`~hamkit_plugins.deeph_e3.blocks.DeepHE3Block`
    (node update + edge update); :meth:`forward_blocks` yields the live
    :class:`~hamkit_plugins.deeph_e3.blocks.DeepHE3State` after each block's edge update.
    Its ``node`` (irreps ``node_irreps``) and ``pair`` (irreps ``pair_irreps``, one row per
    pair of ``pair_index``; aliases ``self_features`` / ``pair_features``) are flat e3nn
    layouts; assigning to them before asking for the next block changes what the next block
    sees. ``forward(graph)`` is exactly ``features(last state of forward_blocks(graph))``.
    """

    supports_periodic = True

    name: ClassVar[str] = "deeph_e3"
    Config: ClassVar[type[ComponentConfig]] = DeepHE3Config

    species_lookup: torch.Tensor

    def __init__(self, config: DeepHE3Config, species: tuple[int, ...] = ()) -> None:
        """Create the modules (float32 parameters; ``from_config`` casts to the context dtype).

        Args:
            config: Options.
            species: Atomic numbers to support (the dataset's species).

        Raises:
            HamkitError: No species (the self-connections need one table per element and
                per ordered element pair), or atomic numbers outside 1..118.
        """
        super().__init__()
        if not species:
            raise HamkitError(
                "deeph_e3 needs the dataset's species (BuildContext.species or basis): its "
                "self-connections have one linear map per element and per ordered element pair"
            )
        self.config = config
        node, edge = config.resolved_irreps()
        self.node_spec, self.edge_spec = node, edge
        self.node_irreps, self.pair_irreps = str(node), str(edge)
        self.pair_cutoff = float(config.cutoff)
        self.physical_parity = config.parity == "physical"

        species = tuple(sorted(set(int(z) for z in species)))
        self.register_buffer("species_lookup", species_table(species, "deeph_e3"), persistent=False)
        self.species = species
        n_species = len(species)

        node_start = IrrepsSpec(((node.mul_of((0, 1)), 0, 1),))
        edge_start = IrrepsSpec(((edge.mul_of((0, 1)), 0, 1),))
        self.embedding = nn.Embedding(n_species, node_start.dim)
        self.radial = RadialEmbedding("gaussian", config.num_radial, config.cutoff)
        self.edge_embedding = nn.Linear(config.num_radial, edge_start.dim, bias=False)

        common = dict(
            sh_lmax=config.sh_lmax, physical_parity=self.physical_parity,
            num_radial=config.num_radial, radial_hidden=config.radial_hidden,
        )
        blocks, node_in, edge_in = [], node_start, edge_start
        for _ in range(config.num_blocks):
            blocks.append(
                DeepHE3Block(
                    NodeUpdate(
                        node_in, edge_in, node, n_species, avg_neighbors=config.avg_neighbors, **common
                    ),
                    EdgeUpdate(node, edge_in, edge, n_species**2, envelope=config.pair_envelope, **common),
                )
            )
            node_in, edge_in = node, edge
        self.blocks = nn.ModuleList(blocks)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "DeepHE3Featurizer":
        """Build from options and context.

        Args:
            config: A :class:`DeepHE3Config`.
            context: ``species`` (or ``basis.elements``) sets the elements; ``dtype``
                (``"float32"``/``"float64"``) the parameter dtype.

        Returns:
            The featurizer, parameters in ``context.dtype``.
        """
        assert isinstance(config, DeepHE3Config)
        species = tuple(context.species) or (
            tuple(context.basis.elements) if context.basis is not None else ()
        )
        return cls(config, species).to(getattr(torch, context.dtype))

    # ------------------------------------------------------------------ running
    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype."""
        return self.embedding.weight.dtype

    def geometry(self, graph: StructureGraph) -> DeepHE3Geometry:
        """Edge geometry and type groups of a (batched) graph.

        Args:
            graph: ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom, ``pair_index`` (2, n_pairs)
                and optionally ``pair_shift`` (n_pairs, 3) Angstrom (periodic images:
                ``r_ij = pos_j - pos_i + pair_shift``) with ``pair_cell_shift`` (n_pairs, 3),
                the integer lattice translations the head needs to pair H_ij(R) with H_ji(-R).

        Returns:
            The geometry, in the parameter dtype.
        """
        species = species_indices(self.species_lookup, graph.z, "deeph_e3")
        pos = graph.pos.to(self.dtype)
        pair_index = graph.pair_index.long()
        i, j = pair_index
        vectors = pos.index_select(0, j) - pos.index_select(0, i)
        shift = getattr(graph, "pair_shift", None)
        if shift is not None:
            if shift.shape != vectors.shape:
                raise HamkitError(
                    f"deeph_e3: pair_shift has shape {tuple(shift.shape)}, expected {tuple(vectors.shape)} "
                    "(one lattice shift vector in Angstrom per pair)"
                )
            vectors = vectors + shift.to(self.dtype)
        cell_shift = getattr(graph, "pair_cell_shift", None)  # passed on to the head
        distance = vectors.norm(dim=-1)
        sh = o3.spherical_harmonics(
            list(range(self.config.sh_lmax + 1)), to_e3nn_frame(vectors), normalize=True,
            normalization="component",
        )
        n_species = len(self.species)
        return DeepHE3Geometry(
            pair_index=pair_index,
            sh=sh,
            radial=self.radial(distance),
            envelope=cosine_envelope(distance, self.config.cutoff),
            message=torch.nonzero(distance < self.config.cutoff).squeeze(1),
            node_groups=TypeGroups.build(species),
            pair_groups=TypeGroups.build(species[i] * n_species + species[j]),
            pair_cell_shift=None if cell_shift is None else cell_shift.long(),
        )

    def initial_state(self, graph: StructureGraph) -> DeepHE3State:
        """State before the first block: species embedding (node) and radial embedding (edge)."""
        geometry = self.geometry(graph)
        return DeepHE3State(
            geometry=geometry,
            node=self.embedding(geometry.node_groups.types),
            pair=self.edge_embedding(geometry.radial),
        )

    def induction_points(self) -> list[InductionPoint]:
        """TraceGrad acts on the edge (pair) features after every edge update block but the
        last (as in DeepH-E3 + TraceGrad); the last one is covered by the model's output stages.
        """
        return [InductionPoint(k, "pair", self.pair_irreps) for k in range(len(self.blocks) - 1)]

    def forward_blocks(self, graph: StructureGraph) -> Iterator[DeepHE3State]:
        """Run block by block, yielding the live state after each block's edge update.

        Args:
            graph: As for :meth:`forward`.

        Yields:
            :class:`DeepHE3State` after block 1, 2, ..., ``num_blocks`` (``state.layer``).
            Fields assigned on the yielded object are what the next block receives.
        """
        state = self.initial_state(graph)
        for block in self.blocks:
            state = block(state)
            yield state

    def features(self, state: DeepHE3State) -> EquivariantFeatures:
        """Final output from a state: node (n_atoms, node dim), pair (n_pairs, pair dim)."""
        return EquivariantFeatures(
            node=state.node,
            pair=state.pair,
            pair_index=state.geometry.pair_index,
            node_irreps=self.node_irreps,
            pair_irreps=self.pair_irreps,
            pair_cell_shift=state.geometry.pair_cell_shift,
        )

    def forward(self, graph: StructureGraph) -> EquivariantFeatures:
        """Equivariant features of a (batched) graph.

        Args:
            graph: ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom in (x, y, z),
                ``pair_index`` (2, n_pairs) ordered pairs (both directions), optionally
                ``pair_shift`` (n_pairs, 3) Angstrom.

        Returns:
            ``node`` (n_atoms, dim) on-site features with irreps ``node_irreps``, ``pair``
            (n_pairs, dim) features of the pairs in ``pair_index`` order with ``pair_irreps``.
        """
        return self.run_blocks(graph)
