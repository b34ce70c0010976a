"""The ``mace`` featurizer: mace-torch's MACE as the node backbone, plus pair features.

Design:

* node backbone = a real ``mace.modules.MACE`` (mace-torch is a dependency; nothing of it is
  copied), built with hidden irreps ``channels x`` every degree 0..``lmax``: all even with
  ``use_so3=True`` (``symmetry="so3"``, default) or both parities (``symmetry="o3"``), and
  ``keep_last_layer_irreps=True`` so that its last layer keeps every degree. Its energy
  readouts are dropped (unused). Its interaction and product blocks are run in sequence
  (exactly the loop of ``MACE.forward``, checked against it by the tests) so that
  :meth:`MACEFeaturizer.forward_blocks` can yield the features after each layer.
* inputs: positions in e3nn's (y, z, x) frame (:mod:`hamkit.physics.frames`), so that MACE's
  own spherical harmonics and therefore its l = 1 features come out in hamkit's canonical
  orbital order; one-hot species over the build context's elements; message edges = every
  ordered pair of atoms of the same structure closer than ``cutoff`` (independent of the
  graph's ``pair_index``, which may be cut shorter) for molecules; for crystals the graph's
  periodic pairs within ``cutoff`` (self-images included), which needs ``pair_cutoff >= cutoff``.
* outputs: on-site and pair features of every degree 0..``out_lmax`` (default: twice the
  basis' highest shell degree, 4 for def2-SVP), from :class:`~hamkit_plugins.mace.layers.SelfFeatures`
  and :class:`~hamkit_plugins.mace.layers.PairFeatures` (e3nn tensor products on MACE's node
  features), so MACE's own ``lmax`` may stay small (2) while the head still gets L = 3, 4.

mace is imported lazily, when a featurizer is built: importing this module (e.g. to list
plugins) does not import mace. mace's import sets ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
process-wide; the featurizer restores the previous value right after importing it.

Training: the features reaching the output layers are RMS-normalized (``feature_norm``), so
large constant on-site values (e.g. O 1s ~ -19 Ha) are reached only through the output and
head weights; use MACE's usual learning rate (~1e-2): on embedded water, 200 steps gave a
validation H MAE of ~15 mHa at lr 1e-2 against ~160 mHa at lr 2e-3.

Precision: every module is built with float64 as the default dtype (exact Clebsch-Gordan
and MACE coupling constants) and then cast to the context's dtype; the float64 values of
all constant buffers are kept, and restored whenever the module is cast back to float64.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, ComponentConfig, Featurizer
from hamkit.components.features import EquivariantFeatures
from hamkit.components.featurizer import InductionPoint
from hamkit.data.graph_fields import StructureGraph
from hamkit.errors import HamkitError
from hamkit.nn import MAX_ATOMIC_NUMBER, GaussianBasis, cosine_envelope, species_indices, species_table
from hamkit.physics.frames import to_e3nn_frame
from hamkit_plugins.mace.config import MACEConfig, mace_option_problems
from hamkit_plugins.mace.edges import graph_batch, message_edges, pair_vectors
from hamkit_plugins.mace.layers import (
    DegreeRMSNorm,
    PairFeatures,
    SelfFeatures,
    degree_irreps,
    scalar_indices,
    sh_irreps,
)
from hamkit_plugins.mace.loading import _building, build_mace_backbone
from hamkit_plugins.mace.state import MACEGeometry, MACEState


class MACEFeaturizer(Featurizer):
    """MACE (mace-torch) node features with self and pair output layers for Hamiltonian heads.

    Build with ``MACEFeaturizer.from_config(MACEFeaturizer.Config(...), BuildContext(...))``:
    the context's ``species`` (or basis elements) fixes MACE's one-hot elements, its
    ``basis`` the default ``out_lmax`` and its ``dtype`` the parameter dtype. After building,
    ``node_irreps`` and ``pair_irreps`` hold ``out_channels x`` every degree 0..``out_lmax``
    (all even for ``symmetry="so3"``, both parities for ``"o3"``), ``hidden_irreps`` MACE's
    hidden irreps, ``mace`` the ``mace.modules.MACE`` instance and ``pair_cutoff`` the pair
    range the graphs should be built with (None: all pairs).

    Layer-by-layer use (e.g. TraceGrad after each layer): ``blocks`` lists MACE's
    (interaction, product) pairs; :meth:`forward_blocks` yields the live :class:`MACEState`
    after each; assigning ``state.node`` changes what the next layer sees; :meth:`features`
    turns the final state into ``EquivariantFeatures``. ``forward(graph)`` is exactly
    ``features(last state of forward_blocks(graph))``.
    """

    supports_periodic = True

    name: ClassVar[str] = "mace"
    Config: ClassVar[type[ComponentConfig]] = MACEConfig

    species_lookup: torch.Tensor
    scalar_index: torch.Tensor

    def __init__(
        self, config: MACEConfig, species: tuple[int, ...] = (), basis_max_l: int | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Build MACE and the output layers.

        Args:
            config: Options.
            species: Atomic numbers MACE embeds (required, non-empty).
            basis_max_l: Highest shell degree of the orbital basis, for the default ``out_lmax``.
            dtype: Parameter dtype.

        Raises:
            HamkitError: Impossible options (also when ``config`` bypassed validation) or
                no species.
        """
        super().__init__()
        problems = mace_option_problems(config.lmax, config.max_ell, config.correlation, config.num_interactions)
        if problems:
            raise HamkitError("mace featurizer: " + "; ".join(problems))
        species = tuple(sorted(set(int(z) for z in species)))
        if not species:
            raise HamkitError("mace featurizer: no elements to embed (BuildContext.species and basis are empty)")
        bad = [z for z in species if not 1 <= z <= MAX_ATOMIC_NUMBER]
        if bad:
            raise HamkitError(f"mace featurizer: invalid atomic numbers {bad}")
        self.config = config
        self.species = species
        self.pair_cutoff = config.pair_cutoff
        out_lmax = config.out_lmax
        if out_lmax is None:
            out_lmax = max(config.lmax, 2 * basis_max_l) if basis_max_l is not None else config.lmax
        self.out_lmax = out_lmax
        self.pair_sh_lmax = config.max_ell if config.pair_sh_lmax is None else config.pair_sh_lmax
        symmetry = config.symmetry
        self.hidden_irreps = degree_irreps(config.channels, config.lmax, symmetry)
        out_irreps = degree_irreps(config.out_channels or config.channels, out_lmax, symmetry)
        self.node_irreps = self.pair_irreps = str(out_irreps)
        self.pair_sh_irreps = sh_irreps(self.pair_sh_lmax, symmetry)
        features_in = self.hidden_irreps * (config.num_interactions if config.node_layers == "all" else 1)
        self.features_irreps = o3.Irreps(features_in)

        self.register_buffer("species_lookup", species_table(species, "mace featurizer"), persistent=False)
        self.register_buffer("scalar_index", scalar_indices(self.features_irreps), persistent=False)

        with _building(torch.float64):
            self.mace = build_mace_backbone(config, species)
            self.norm = DegreeRMSNorm(self.features_irreps) if config.feature_norm == "rms" else torch.nn.Identity()
            bottleneck = degree_irreps(config.bottleneck, config.lmax, symmetry)
            self.self_features = SelfFeatures(self.features_irreps, out_irreps, bottleneck)
            self.pair_features = PairFeatures(
                self.features_irreps, out_irreps, bottleneck, self.pair_sh_irreps,
                int(self.scalar_index.numel()), config.num_radial, config.pair_hidden,
            )
        self.pair_radial = GaussianBasis(
            config.num_radial, config.pair_cutoff if config.pair_cutoff is not None else config.cutoff
        )
        # float64 masters of every constant buffer (CG tables, MACE's U matrices): restored
        # by _apply when the module is cast back to float64 after a float32 cast.
        self._constant_masters = {
            name: buffer.detach().clone()
            for name, buffer in self.named_buffers()
            if buffer.dtype == torch.float64
        }
        self.to(dtype)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "MACEFeaturizer":
        """Build from options and context.

        Args:
            config: A :class:`MACEConfig`.
            context: ``species`` (or ``basis.elements``) sets MACE's elements; ``basis``
                (when given) the default ``out_lmax``; ``dtype`` the parameter dtype.

        Returns:
            The featurizer, parameters in ``context.dtype``.
        """
        assert isinstance(config, MACEConfig)
        species = tuple(context.species) or (
            tuple(context.basis.elements) if context.basis is not None else ()
        )
        basis_max_l = context.basis.max_l if context.basis is not None else None
        return cls(config, species, basis_max_l, getattr(torch, context.dtype))

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> "MACEFeaturizer":
        super()._apply(fn, *args, **kwargs)
        masters = getattr(self, "_constant_masters", None)
        if masters:
            with torch.no_grad():
                for name, master in masters.items():
                    buffer = self.get_buffer(name)
                    if buffer.dtype == torch.float64:
                        buffer.copy_(master.to(buffer.device))
        return self

    # ------------------------------------------------------------------ running
    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype."""
        return next(self.mace.parameters()).dtype

    @property
    def blocks(self) -> list[tuple[torch.nn.Module, torch.nn.Module]]:
        """MACE's layers: ``(interaction, product)`` module pairs, in order."""
        return list(zip(self.mace.interactions, self.mace.products))

    def node_attributes(self, graph: StructureGraph) -> torch.Tensor:
        """One-hot species (n_atoms, n_species) in the parameter dtype.

        Raises:
            HamkitError: An element MACE was not built for.
        """
        index = species_indices(self.species_lookup, graph.z, "mace")
        return torch.nn.functional.one_hot(index, len(self.species)).to(self.dtype)

    def message_edges(self, graph: StructureGraph, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """MACE's message edges and their vectors: :func:`~hamkit_plugins.mace.edges.message_edges`
        at this featurizer's ``cutoff`` and ``pair_cutoff``."""
        return message_edges(graph, pos, self.config.cutoff, self.pair_cutoff)

    def mace_inputs(self, graph: StructureGraph) -> dict[str, torch.Tensor]:
        """The PyG-style batch dict ``mace.modules.MACE.forward`` accepts, for this graph.

        Positions are a fresh tensor in e3nn's (y, z, x) frame (MACE.forward sets
        ``requires_grad`` on it); shifts are the message edges' image vectors (zero for
        molecules), so MACE's own ``pos[j] - pos[i] + shift`` gives the same edges.
        """
        pos = to_e3nn_frame(graph.pos.to(self.dtype)).clone()
        batch = graph_batch(graph)
        edge_index, vectors = self.message_edges(graph, pos)
        shifts = (vectors - (pos[edge_index[1]] - pos[edge_index[0]])).detach()
        n_graphs = int(batch.max()) + 1 if batch.numel() else 0
        ptr = torch.cat([batch.new_zeros(1), torch.cumsum(torch.bincount(batch, minlength=n_graphs), 0)])
        return {
            "positions": pos,
            "edge_index": edge_index,
            "shifts": shifts,
            "unit_shifts": pos.new_zeros(edge_index.shape[1], 3),
            "cell": pos.new_zeros(n_graphs, 3, 3),
            "node_attrs": self.node_attributes(graph),
            "batch": batch,
            "ptr": ptr,
        }

    def geometry(self, graph: StructureGraph) -> MACEGeometry:
        """Species, message edges and pair geometry of a (batched) graph.

        Args:
            graph: Needs ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom, ``pair_index``
                (2, n_pairs) and, when batched, ``batch``.
        """
        node_attrs = self.node_attributes(graph)
        pos = to_e3nn_frame(graph.pos.to(self.dtype))
        edge_index, vectors = self.message_edges(graph, pos)
        lengths = vectors.norm(dim=-1, keepdim=True)
        edge_feats, edge_cutoff = self.mace.radial_embedding(
            lengths, node_attrs, edge_index, self.mace.atomic_numbers
        )
        if edge_cutoff is not None:  # MACE built with apply_cutoff=False: not the case here
            edge_feats = edge_feats * edge_cutoff
        pair_index = graph.pair_index.long()
        vectors_ij = pair_vectors(graph, pos)
        pair_distance = vectors_ij.norm(dim=-1)
        return MACEGeometry(
            node_attrs=node_attrs,
            edge_index=edge_index,
            edge_attrs=self.mace.spherical_harmonics(vectors),
            edge_feats=edge_feats,
            pair_index=pair_index,
            pair_sh=o3.spherical_harmonics(
                list(range(self.pair_sh_lmax + 1)), vectors_ij, normalize=True, normalization="component"
            ),
            pair_radial=self.pair_radial(pair_distance),
            pair_envelope=(
                torch.ones_like(pair_distance) if self.pair_cutoff is None
                else cosine_envelope(pair_distance, self.pair_cutoff)
            ),
            pair_cell_shift=getattr(graph, "pair_cell_shift", None),
        )

    def initial_state(self, graph: StructureGraph) -> MACEState:
        """State before the first layer: MACE's species embedding (``channels x 0e``)."""
        geometry = self.geometry(graph)
        return MACEState(geometry=geometry, node=self.mace.node_embedding(geometry.node_attrs))

    def induction_points(self) -> list[InductionPoint]:
        """TraceGrad acts on the node features after every MACE layer but the last (the last
        one feeds the output layers, which the model's output stages cover)."""
        return [InductionPoint(k, "node", str(self.hidden_irreps)) for k in range(len(self.blocks) - 1)]

    def forward_blocks(self, graph: StructureGraph) -> Iterator[MACEState]:
        """Run MACE layer by layer, yielding the live state after each layer.

        Args:
            graph: As for :meth:`forward`.

        Yields:
            :class:`MACEState` after layer 1, 2, ..., ``num_interactions`` (``state.layer``);
            its ``node`` has irreps ``hidden_irreps``. Assigning ``state.node`` before asking
            for the next layer changes what that layer receives.
        """
        state = self.initial_state(graph)
        geometry = state.geometry
        for index, (interaction, product) in enumerate(self.blocks):
            node, skip = interaction(
                node_attrs=geometry.node_attrs,
                node_feats=state.node,
                edge_attrs=geometry.edge_attrs,
                edge_feats=geometry.edge_feats,
                edge_index=geometry.edge_index,
                cutoff=None,
                first_layer=index == 0,
            )
            node = product(node_feats=node, sc=skip, node_attrs=geometry.node_attrs)
            previous = state.previous + ([state.node] if state.layer > 0 else [])
            state = MACEState(geometry=geometry, node=node, previous=previous, layer=state.layer + 1)
            yield state

    def features(self, state: MACEState) -> EquivariantFeatures:
        """Output features from a state (the final one when ``node_layers="all"``).

        Returns:
            ``node`` (n_atoms, dim) on-site features, ``pair`` (n_pairs, dim) features of the
            geometry's ``pair_index``; both with irreps ``node_irreps``.
        """
        if self.config.node_layers == "all":
            if state.layer != len(self.mace.interactions):
                raise HamkitError(
                    f"mace: node_layers='all' needs the final state (layer {len(self.mace.interactions)}), "
                    f"got layer {state.layer}"
                )
            h = torch.cat([*state.previous, state.node], dim=-1)
        else:
            if state.layer == 0:
                raise HamkitError("mace: features need at least one MACE layer (state.layer == 0)")
            h = state.node
        h = self.norm(h)
        geometry = state.geometry
        return EquivariantFeatures(
            node=self.self_features(h),
            pair=self.pair_features(
                h, h[:, self.scalar_index], geometry.pair_index, geometry.pair_sh,
                geometry.pair_radial, geometry.pair_envelope,
            ),
            pair_index=geometry.pair_index,
            node_irreps=self.node_irreps,
            pair_irreps=self.pair_irreps,
            pair_cell_shift=geometry.pair_cell_shift,
        )

    def forward(self, graph: StructureGraph) -> EquivariantFeatures:
        """Equivariant features of a (batched) graph.

        Args:
            graph: ``z`` (n_atoms,), ``pos`` (n_atoms, 3) Angstrom in (x, y, z),
                ``pair_index`` (2, n_pairs) ordered pairs, ``batch`` when batched.

        Returns:
            ``node`` (n_atoms, dim), ``pair`` (n_pairs, dim) in ``pair_index`` order; irreps
            ``node_irreps`` = ``pair_irreps``; they transform with e3nn's ``D(P R P^T)``
            under ``pos -> R pos`` (P: the (y, z, x) permutation).
        """
        state = None
        for state in self.forward_blocks(graph):  # noqa: B007 - only the last state is kept
            pass
        assert state is not None
        return self.features(state)
