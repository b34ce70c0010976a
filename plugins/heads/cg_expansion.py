"""The ``cg_expansion`` head: features -> Hamiltonian blocks by Clebsch-Gordan expansion."""

from __future__ import annotations

from typing import ClassVar, Literal, cast

import torch
from pydantic import Field
from torch import nn

import hamkit  # noqa: F401  (applies the e3nn import fix before e3nn is imported)
from e3nn import o3

from hamkit.components import BuildContext, ComponentConfig, Head
from hamkit.components.features import EquivariantFeatures
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import onsite_blocks
from hamkit.data.graph_fields import HAMILTONIAN, StructureGraph
from hamkit.errors import HamkitError
from hamkit.nn import MAX_ATOMIC_NUMBER, species_indices, species_table
from hamkit_plugins.heads.expansion import Irrep, PairExpansion, pair_expansion
from hamkit_plugins.heads.indexing import locate_pairs, packed_offsets
from hamkit_plugins.heads.projection import BlockProjection


class CGExpansionConfig(ComponentConfig):
    """Options of the ``cg_expansion`` head."""

    parity: Literal["ignore", "physical"] = Field(
        "ignore",
        description="'ignore': treat features by degree only (SO(3) backbones such as qhnet, "
        "all-even irreps); 'physical': an (la, lb) sub-block's degree-L part must come from "
        "features of parity (-1)^(la+lb) (O(3) backbones).",
    )
    missing_irreps: Literal["error", "zero"] = Field(
        "error",
        description="When the basis needs irreps the features lack (e.g. L = 5, 6 for f-f "
        "sub-blocks with lmax-4 features): 'error', or 'zero' to leave those components zero.",
    )
    onsite_bias: bool = Field(True, description="Learnable bias on the L = 0 parts of on-site blocks.")


def _parse(irreps: str, owner: str) -> o3.Irreps:
    try:
        return o3.Irreps(irreps)
    except Exception as error:  # noqa: BLE001 - e3nn raises ValueError/AssertionError
        raise HamkitError(f"{owner}: cannot parse irreps '{irreps}' ({error})") from None


def _format(irrep: Irrep) -> str:
    return f"{irrep[0]}{'e' if irrep[1] == 1 else 'o'}"


class CGExpansionHead(Head):
    """Hamiltonian blocks from node/pair features by per-element-pair linear maps and CG expansion.

    For every block of the graph's ``block_index``: on-site blocks (i, i) from the node
    features, pair blocks (i, j) from the features of pair (i, j) of ``pair_index``. A linear
    map (:class:`~hamkit_plugins.heads.projection.BlockProjection`, normalized like
    ``e3nn.o3.Linear``) per element (on-site) or per ordered element pair (i's element,
    j's element) projects the features to one copy of every irrep ``L = |la - lb| .. la + lb``
    of every (shell a, shell b) sub-block; a fixed Clebsch-Gordan table
    (:mod:`hamkit_plugins.heads.expansion`) turns them into the (n_i, n_j) block. Weights are
    thus shared by all blocks of one element pair (QHNet instead modulates its expansion with
    per-pair weights from an MLP on both atoms' embeddings; with per-element-pair maps the
    element dependence is exact and there is no extra MLP). On-site blocks get a learnable
    bias on their L = 0 parts (``onsite_bias``).

    Symmetry: the raw blocks ``B`` are averaged with the transposed raw block of the reverse
    pair, ``H_ij = (B_ij + B_ji^T) / 2`` (on-site: ``(B_ii + B_ii^T) / 2``), so the assembled
    matrix is exactly symmetric, bit for bit. In periodic graphs the reverse of block
    (i, j, R) is (j, i, -R), so ``H_ji(-R) = H_ij(R)^T`` holds exactly as well; the
    self-image blocks (i, i, R != 0) pair with (i, i, -R).

    Parity: by default (``parity="ignore"``) features are used by degree only, as needed by
    SO(3)-only, all-even backbones: p-p sub-blocks contain a 1e part and p-d ones a 2o part,
    which such backbones provide as 1e/2e. ``parity="physical"`` matches (degree, parity).

    Build with ``CGExpansionHead.from_config(CGExpansionHead.Config(...), context)``; the
    context must carry ``basis`` (an ``OrbitalBasis``) and ``declared.node_irreps``,
    ``declared.pair_irreps`` (the featurizer's e3nn strings); ``species`` (default: the
    basis' elements) and ``dtype`` are used too. It declares them back as
    ``node_irreps_in`` / ``pair_irreps_in``, which the assembler checks.

    Output: ``{"hamiltonian": (n_elements,)}``, the blocks of ``graph.block_index`` flattened
    row-major and concatenated: the layout of ``graph.hamiltonian``.
    """

    name: ClassVar[str] = "cg_expansion"
    Config: ClassVar[type[ComponentConfig]] = CGExpansionConfig

    species_lookup: torch.Tensor
    orbital_count: torch.Tensor

    def __init__(
        self,
        config: CGExpansionConfig,
        basis: OrbitalBasis,
        node_irreps: str,
        pair_irreps: str,
        species: tuple[int, ...] = (),
    ) -> None:
        """Create the per-element(-pair) linear maps and expansion tables.

        Args:
            config: Options.
            basis: Orbital basis (shells per element).
            node_irreps: e3nn irreps of the node features.
            pair_irreps: e3nn irreps of the pair features.
            species: Elements to support (default: every element of the basis).
        """
        super().__init__()
        self.config = config
        self.node_irreps_in, self.pair_irreps_in = node_irreps, pair_irreps
        species = tuple(sorted(set(species))) or tuple(basis.elements)
        absent = sorted(set(species) - set(basis.elements))
        if absent:
            raise HamkitError(f"cg_expansion: the basis has no shells for element(s) Z={absent}")
        self.species = species
        node_in = self._input_irreps(node_irreps, "node_irreps")
        pair_in = self._input_irreps(pair_irreps, "pair_irreps")

        orbitals = torch.zeros(MAX_ATOMIC_NUMBER + 1, dtype=torch.long)
        orbitals[list(species)] = torch.tensor([basis.n_orbitals(z) for z in species])
        self.register_buffer("species_lookup", species_table(species, "cg_expansion"), persistent=False)
        self.register_buffer("orbital_count", orbitals, persistent=False)

        self.maps = nn.ModuleDict()
        self.keys: dict[int, str] = {}  # block type id -> module key
        missing: dict[Irrep, list[str]] = {}
        n = len(species)
        for r, z_row in enumerate(species):
            for c, z_col in enumerate(species):
                for onsite in ((False, True) if z_row == z_col else (False,)):
                    key = f"onsite_{z_row}" if onsite else f"pair_{z_row}_{z_col}"
                    irreps_in = node_in if onsite else pair_in
                    available = {(ir.l, ir.p) for _, ir in irreps_in}
                    table = pair_expansion(basis, z_row, z_col, config.parity, available)
                    for irrep in table.missing:
                        missing.setdefault(irrep, []).append(key)
                    self._add_map(key, irreps_in, table, bias=onsite and config.onsite_bias)
                    self.keys[(n * n if onsite else 0) + r * n + c] = key
        if missing and config.missing_irreps == "error":
            needed = ", ".join(_format(ir) for ir in sorted(missing))
            raise HamkitError(
                f"cg_expansion: the basis needs irreps {needed} that the features lack "
                f"(node_irreps '{node_irreps}', pair_irreps '{pair_irreps}'; e.g. for "
                f"{missing[sorted(missing)[0]][0]}): raise the featurizer's lmax, or set "
                "missing_irreps: zero to leave those components zero"
                + ("; with an SO(3) all-even backbone use parity: ignore" if config.parity == "physical" else "")
            )
        self.missing = {_format(ir): keys for ir, keys in sorted(missing.items())}

    def _input_irreps(self, irreps: str, what: str) -> o3.Irreps:
        parsed = _parse(irreps, f"cg_expansion ({what})")
        if self.config.parity == "ignore":
            parsed = o3.Irreps([(mul, (ir.l, 1)) for mul, ir in parsed])
        return parsed

    def _add_map(self, key: str, irreps_in: o3.Irreps, table: PairExpansion, bias: bool) -> None:
        self.maps[key] = BlockProjection(irreps_in, table, bias)
        self.register_buffer(f"transpose_{key}", torch.from_numpy(table.transpose), persistent=False)

    @classmethod
    def from_config(cls, config: ComponentConfig, context: BuildContext) -> "CGExpansionHead":
        """Build from options and context (``basis``, ``declared`` irreps, ``species``, ``dtype``).

        Raises:
            HamkitError: No basis, or no declared ``node_irreps``/``pair_irreps``.
        """
        assert isinstance(config, CGExpansionConfig)
        if context.basis is None:
            raise HamkitError("cg_expansion needs the orbital basis (BuildContext.basis)")
        node_irreps, pair_irreps = context.declared.node_irreps, context.declared.pair_irreps
        if node_irreps is None or pair_irreps is None:
            absent = [name for name, value in (("node_irreps", node_irreps), ("pair_irreps", pair_irreps))
                      if value is None]
            raise HamkitError(
                f"cg_expansion needs {', '.join(absent)} declared by the featurizer "
                f"(declared: {context.declared.describe()})"
            )
        head = cls(config, context.basis, node_irreps, pair_irreps, tuple(context.species))
        return head.to(getattr(torch, context.dtype))

    def forward(self, features: EquivariantFeatures, graph: StructureGraph) -> dict[str, torch.Tensor]:
        """Predict the packed Hamiltonian blocks.

        Args:
            features: ``node`` (n_atoms, node_dim), ``pair`` (n_pairs, pair_dim) and their
                ``pair_index`` (2, n_pairs).
            graph: The (batched) graph: ``z`` (n_atoms,), ``block_index`` (2, n_blocks).

        Returns:
            ``{"hamiltonian": (n_elements,)}`` in the packed layout of ``graph.block_index``.
        """
        if (features.node_irreps, features.pair_irreps) != (self.node_irreps_in, self.pair_irreps_in):
            raise HamkitError(
                f"cg_expansion was built for node/pair irreps '{self.node_irreps_in}' / "
                f"'{self.pair_irreps_in}' but got '{features.node_irreps}' / '{features.pair_irreps}'"
            )
        z = graph.z.long()
        block_index = graph.block_index.long()
        n_atoms = z.shape[0]
        row, col = block_index
        species = species_indices(self.species_lookup, z, "cg_expansion", missing="not supported")
        sizes = self.orbital_count[z[row]] * self.orbital_count[z[col]]
        offsets = packed_offsets(sizes)
        total = int(offsets[-1])
        onsite = onsite_blocks(graph)
        block_shift = getattr(graph, "block_cell_shift", None)
        reverse = locate_pairs(torch.stack([col, row]), block_index, n_atoms, "block_index",
                               None if block_shift is None else -block_shift, block_shift)
        pair_position = torch.full_like(row, -1)
        off = torch.nonzero(~onsite).squeeze(1)
        pair_position[off] = locate_pairs(
            block_index[:, off], features.pair_index.long(), n_atoms, "the features' pair_index",
            None if block_shift is None else block_shift[off], features.pair_cell_shift,
        )
        n = len(self.species)
        block_type = onsite.long() * n * n + species[row] * n + species[col]

        destinations, values, sources = [], [], []
        for type_id in torch.unique(block_type).tolist():
            key = self.keys[type_id]
            chosen = torch.nonzero(block_type == type_id).squeeze(1)
            projection = cast(BlockProjection, self.maps[key])  # every map is added by _add_map
            size = projection.block_size
            inputs = (
                features.node[row[chosen]] if key.startswith("onsite") else features.pair[pair_position[chosen]]
            )
            blocks = projection(inputs)
            local = torch.arange(size, device=row.device)
            destinations.append((offsets[chosen][:, None] + local).reshape(-1))
            sources.append((offsets[reverse[chosen]][:, None] + getattr(self, f"transpose_{key}")).reshape(-1))
            values.append(blocks.reshape(-1))
        if not values:
            return {HAMILTONIAN: features.node.new_zeros(0)}
        destination = torch.cat(destinations)
        raw = values[0].new_zeros(total).index_copy(0, destination, torch.cat(values))
        transposed_source = torch.empty(total, dtype=torch.long, device=raw.device)
        transposed_source[destination] = torch.cat(sources)
        return {HAMILTONIAN: 0.5 * (raw + raw[transposed_source])}
