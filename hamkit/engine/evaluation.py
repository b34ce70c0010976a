"""Predicting packed Hamiltonian blocks and scoring them with the QH9 metrics.

Molecules are scored on their full matrices (:mod:`hamkit.physics.metrics`), crystals on
their predicted blocks and on bands over a k-mesh (:mod:`hamkit.physics.periodic_metrics`);
both give the same keys, so tables and ablations treat them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.graph import graph_layout, record_matrices_at
from hamkit.data.graph_fields import HAMILTONIAN
from hamkit.data.structure import HamiltonianRecord
from hamkit.engine.batches import collate
from hamkit.errors import HamkitError
from hamkit.physics.bloch import bloch_matrices
from hamkit.physics.blocks import PackedBlockLayout, pack_blocks, unpack_blocks
from hamkit.physics.eigen import solve_generalized_eigen
from hamkit.physics.metrics import METRIC_KEYS, structure_metrics, summarize_metrics
from hamkit.physics.periodic_metrics import (
    PERIODIC_OVERLAP_THRESHOLD,
    band_errors_on_mesh,
    block_errors,
    default_mesh,
)


def predict_packed(
    model: torch.nn.Module, graphs: Sequence[Data], dtype: torch.dtype, device: torch.device,
    batch_size: int,
) -> list[np.ndarray]:
    """Packed predicted blocks of each graph (float64 numpy, one array per graph).

    Runs under ``torch.no_grad()`` (not ``inference_mode``: gradient inducers
    differentiate inside the forward pass).
    """
    model.eval()
    packed: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(graphs), batch_size):
            chunk = graphs[start:start + batch_size]
            flat = model(collate(chunk, dtype, device))[HAMILTONIAN].double().cpu().numpy()
            sizes = [graph.hamiltonian.numel() for graph in chunk]
            packed.extend(np.split(flat, np.cumsum(sizes)[:-1]))
    return packed


def predicted_matrices(
    model: torch.nn.Module, dataset: Dataset, indices: Sequence[int], graphs: Sequence[Data],
    dtype: torch.dtype, device: torch.device, batch_size: int,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Predicted and reference matrices of molecular records.

    Args:
        model: The trained model.
        dataset: Where the records come from.
        indices: Record indices, aligned with ``graphs``.
        graphs: Their graphs.
        dtype: Model dtype.
        device: Model device.
        batch_size: Structures per forward pass.

    Returns:
        Per structure ``(H_pred, H_true, S, numbers)``, canonical convention, Hartree;
        blocks the graph does not predict are 0 in ``H_pred``.
    """
    packed = predict_packed(model, graphs, dtype, device, batch_size)
    results = []
    for index, graph, values in zip(indices, graphs, packed):
        record = dataset[int(index)]
        numbers = record.structure.numbers
        layout = PackedBlockLayout.build(numbers, dataset.basis, graph.block_index.T.tolist())
        results.append((unpack_blocks(values, layout), record.hamiltonian, record.overlap, numbers))
    return results


def _record_overlap(record: HamiltonianRecord) -> np.ndarray:
    """The record's overlap S, which the metrics of molecules and the bands of crystals need.

    Raises:
        HamkitError: The record has no overlap.
    """
    if record.overlap is None:
        raise HamkitError(f"record {record.key!r} has no overlap matrix S: its orbital energies "
                          "cannot be scored")
    return record.overlap


def _record_translations(record: HamiltonianRecord) -> np.ndarray:
    """The lattice translations R of a periodic record's H(R) and S(R), (n_R, 3).

    Raises:
        ValueError: A molecular record.
    """
    if record.translations is None:
        raise ValueError(f"record {record.key!r} is a molecule: it has no lattice translations")
    return record.translations


def occupied_bands(record: HamiltonianRecord) -> int | None:
    """Doubly occupied bands of a periodic record: ``n_electrons / 2``, or the reference
    bands below ``fermi_level`` at Gamma; None when the record tells neither."""
    n_electrons = record.extras.get("n_electrons")
    if n_electrons is not None:
        return int(round(float(n_electrons))) // 2
    fermi = record.extras.get("fermi_level")
    if fermi is None or record.overlap is None:
        return None
    gamma = np.zeros(3)
    translations = _record_translations(record)
    energies, _ = solve_generalized_eigen(bloch_matrices(translations, record.hamiltonian, gamma),
                                          bloch_matrices(translations, record.overlap, gamma),
                                          PERIODIC_OVERLAP_THRESHOLD)
    return int(np.sum(energies < float(fermi)))


def periodic_record_metrics(
    record: HamiltonianRecord, values: np.ndarray, layout: PackedBlockLayout, translations: np.ndarray,
) -> dict[str, float]:
    """Metrics of one crystal: block errors, and band errors on the default k-mesh.

    Args:
        record: The periodic record (reference H(R), S(R)).
        values: (n_elements,) predicted packed blocks of its graph.
        layout: The graph's layout over ``translations``.
        translations: (n_R, 3) the graph's translations.

    Returns:
        Every key of :data:`METRIC_KEYS`; band metrics are ``nan`` without an overlap or
        without an electron count (``extras["n_electrons"]`` or ``extras["fermi_level"]``).
    """
    true = pack_blocks(record_matrices_at(record, record.hamiltonian, translations), layout)
    n_atoms = record.structure.n_atoms
    onsite = np.repeat(np.arange(len(layout.pairs)) < n_atoms, np.diff(layout.offsets))
    metrics = {key: float("nan") for key in METRIC_KEYS}
    metrics.update(block_errors(values, true, onsite))
    n_occupied = occupied_bands(record)
    if record.overlap is not None and n_occupied:
        reference = _record_translations(record)
        metrics.update(band_errors_on_mesh(
            (translations, unpack_blocks(values, layout)), (reference, record.hamiltonian),
            (reference, record.overlap), n_occupied, default_mesh(record.structure.pbc)))
    return metrics


def record_metrics(record: HamiltonianRecord, graph: Data, values: np.ndarray, basis: OrbitalBasis) -> dict[str, float]:
    """Metrics (:data:`METRIC_KEYS`) of one record's prediction, molecule or crystal.

    Args:
        record: The labelled record; molecules need ``overlap``.
        graph: The graph the prediction was made on.
        values: (n_elements,) packed prediction in the graph's layout.
        basis: The orbital basis.

    Raises:
        HamkitError: A molecule without an overlap.
    """
    layout, translations = graph_layout(graph, basis)
    if translations is not None:
        return periodic_record_metrics(record, values, layout, translations)
    return structure_metrics(unpack_blocks(values, layout), record.hamiltonian, _record_overlap(record),
                             record.structure.numbers, basis, charge=record.structure.charge)


def evaluate_predictions(
    records: Sequence[HamiltonianRecord], graphs: Sequence[Data], packed: Sequence[np.ndarray],
    basis: OrbitalBasis,
) -> dict[str, dict]:
    """``{key: {"mean", "per_structure"}}`` over records (each with its own charge)."""
    return summarize_metrics([record_metrics(r, g, v, basis) for r, g, v in zip(records, graphs, packed)])


ORBITAL_ENERGIES_SHOWN = 12
"""Lowest orbital energies per test molecule in ``plots/orbital_energies.png``."""


@dataclass
class SplitEvaluation:
    """The scores of a split, gathered one batch at a time.

    Attributes:
        metrics: ``{key: {"mean", "per_structure"}}`` (:func:`summarize_metrics`); empty
            for an empty split.
        periodic: Some structure is a crystal (errors read best in meV).
        predicted_levels: Lowest predicted orbital energies of each molecule, (<= 12,) each.
        reference_levels: The reference ones, aligned.
    """

    metrics: dict[str, dict] = field(default_factory=dict)
    periodic: bool = False
    predicted_levels: list[np.ndarray] = field(default_factory=list)
    reference_levels: list[np.ndarray] = field(default_factory=list)


def orbital_levels(record: HamiltonianRecord, graph: Data, values: np.ndarray, basis: OrbitalBasis,
                   n_lowest: int = ORBITAL_ENERGIES_SHOWN) -> tuple[np.ndarray, np.ndarray]:
    """Lowest predicted and reference orbital energies of a molecule (Hartree), (<= n_lowest,) each.

    Args:
        record: The molecular record (reference H and S).
        graph: Its graph.
        values: (n_elements,) packed prediction in the graph's layout.
        basis: The orbital basis.
        n_lowest: Levels kept.

    Raises:
        HamkitError: The record has no overlap.
    """
    overlap = _record_overlap(record)
    predicted = unpack_blocks(values, graph_layout(graph, basis)[0])
    return (solve_generalized_eigen(predicted, overlap)[0][:n_lowest],
            solve_generalized_eigen(record.hamiltonian, overlap)[0][:n_lowest])


def evaluate_split(model: torch.nn.Module, chunks: Iterable[list[tuple[HamiltonianRecord, Data]]],
                   dtype: torch.dtype, device: torch.device, basis: OrbitalBasis,
                   levels: bool = True) -> SplitEvaluation:
    """Predict and score a split batch by batch, holding no more than one batch of records.

    Args:
        model: The trained model.
        chunks: ``(record, graph)`` pairs, one batch per chunk, in split order
            (:func:`hamkit.engine.loaders.chunk_loader` over a
            :class:`~hamkit.engine.prepare.RecordGraphs`).
        dtype: Model dtype.
        device: Model device.
        basis: The orbital basis.
        levels: Also collect the orbital energies of the molecules (for the plot).
    """
    result, rows = SplitEvaluation(), []
    for chunk in chunks:
        records, graphs = [pair[0] for pair in chunk], [pair[1] for pair in chunk]
        packed = predict_packed(model, graphs, dtype, device, len(chunk))
        for record, graph, values in zip(records, graphs, packed):
            rows.append(record_metrics(record, graph, values, basis))
            result.periodic = result.periodic or record.is_periodic
            if levels and not record.is_periodic:
                predicted, reference = orbital_levels(record, graph, values, basis)
                result.predicted_levels.append(predicted)
                result.reference_levels.append(reference)
    result.metrics = summarize_metrics(rows) if rows else {}
    return result
