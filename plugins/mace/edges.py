"""Which atoms MACE's messages connect, and the pair vectors of a graph (e3nn frame)."""

from __future__ import annotations

import torch

from hamkit.data.graph_fields import StructureGraph
from hamkit.errors import HamkitError
from hamkit.physics.frames import to_e3nn_frame
from hamkit_plugins.mace.layers import radius_edges


def graph_batch(graph: StructureGraph) -> torch.Tensor:
    """Structure index of every atom, (n_atoms,) long: the graph's ``batch``, or zeros."""
    batch = getattr(graph, "batch", None)
    if batch is None:
        return torch.zeros(graph.z.shape[0], dtype=torch.long, device=graph.z.device)
    return batch.long()


def pair_vectors(graph: StructureGraph, pos: torch.Tensor) -> torch.Tensor:
    """r_ij of the graph's pairs, periodic images included, (n_pairs, 3).

    Args:
        graph: Needs ``pair_index`` (2, n_pairs); crystals also ``pair_shift`` (n_pairs, 3)
            in (x, y, z).
        pos: (n_atoms, 3) positions in e3nn's frame.
    """
    pairs = graph.pair_index.long()
    vectors = pos[pairs[1]] - pos[pairs[0]]
    shift = getattr(graph, "pair_shift", None)
    return vectors if shift is None else vectors + to_e3nn_frame(shift.to(pos.dtype))


def message_edges(
    graph: StructureGraph, pos: torch.Tensor, cutoff: float, pair_cutoff: float | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """MACE's message edges (sender i, receiver j) and their vectors r_ij (e3nn frame).

    Molecules: every ordered pair of atoms of one structure closer than ``cutoff``.
    Crystals (graphs with ``pair_shift``): the graph's periodic pairs (self-images
    included) closer than ``cutoff``, with ``r_ij = pos_j - pos_i + pair_shift``.

    Args:
        graph: The (batched) graph.
        pos: (n_atoms, 3) positions in e3nn's frame.
        cutoff: MACE's message cutoff (Angstrom).
        pair_cutoff: The range the graph's pairs were built with (None: all pairs).

    Returns:
        ``(edge_index (2, n_edges), vectors (n_edges, 3))``.

    Raises:
        HamkitError: A crystal whose graph pairs reach less far than MACE's cutoff.
    """
    if getattr(graph, "pair_shift", None) is None:
        edge_index = radius_edges(pos, graph_batch(graph), cutoff)
        return edge_index, pos[edge_index[1]] - pos[edge_index[0]]
    if pair_cutoff is None or pair_cutoff < cutoff:
        raise HamkitError(
            f"mace: periodic graphs need pair_cutoff >= cutoff ({cutoff} A) so that every "
            f"message edge is among the graph's periodic pairs; got pair_cutoff {pair_cutoff}")
    pairs = graph.pair_index.long()
    vectors = pair_vectors(graph, pos)
    within = vectors.norm(dim=-1) < cutoff
    return pairs[:, within], vectors[within]
