"""Predicting with a trained model: Hamiltonians of new structures, and metrics on data.

Everything here works in hamkit's canonical orbital order and Hartree; conversion to a
code's order happens only when writing files (:mod:`hamkit.engine.prediction_files`).
Predictions go through the same graphs, batching and unpacking as the evaluation after
training (:func:`hamkit.engine.evaluation.predicted_matrices`), so they are the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.structure import Structure
from hamkit.data.structure_files import NamedStructure
from hamkit.engine.batches import collate
from hamkit.engine.evaluation import metrics_of
from hamkit.engine.pyscf_bridge import canonical_overlap, model_molecule, same_basis_name
from hamkit.engine.restore import TrainedModel
from hamkit.errors import HamkitError
from hamkit.physics.blocks import PackedBlockLayout, unpack_blocks
from hamkit.physics.eigen import solve_generalized_eigen

Item = TypeVar("Item")
Tracker = Callable[[Sequence[Item], str], Iterable[Item]]


def _no_progress(items: Sequence[Item], description: str) -> Iterable[Item]:
    return items


@dataclass(frozen=True)
class Prediction:
    """The model's Hamiltonian of one structure with its overlap and orbital energies.

    Attributes:
        name: Where the structure came from.
        structure: The atoms.
        hamiltonian: Predicted H (n, n), canonical order, Hartree, symmetric.
        overlap: PySCF's S (n, n) in the model's basis, canonical order.
        orbital_energies: Solutions of ``H C = S C eps`` (Hartree), ascending.
    """

    name: str
    structure: Structure
    hamiltonian: np.ndarray
    overlap: np.ndarray
    orbital_energies: np.ndarray


def predict_matrices(
    trained: TrainedModel, graphs: Sequence[Data], basis: OrbitalBasis | None = None,
    batch_size: int | None = None, track: Tracker = _no_progress,
) -> list[np.ndarray]:
    """Predicted Hamiltonians (canonical order, Hartree, float64) of structure graphs.

    Args:
        trained: The model.
        graphs: Graphs from :meth:`TrainedModel.graph` (or labelled graphs of the same cutoff).
        basis: Basis for the matrix layout (default: the model's).
        batch_size: Structures per forward pass (default: the training batch size).
        track: Progress wrapper ``track(batches, description)``.

    Returns:
        One (n, n) matrix per graph, in order; blocks the graph does not predict are 0.
    """
    basis = basis or trained.basis
    batch_size = batch_size or trained.batch_size
    layouts = [PackedBlockLayout.build(graph.z.numpy(), basis, graph.block_index.T.tolist()) for graph in graphs]
    starts = list(range(0, len(graphs), batch_size))
    matrices: list[np.ndarray] = []
    trained.model.eval()
    with torch.no_grad():  # not inference_mode: gradient inducers differentiate inside forward
        for start in track(starts, "predicting"):
            chunk = graphs[start:start + batch_size]
            flat = trained.model(collate(chunk, trained.dtype, trained.device))["hamiltonian"]
            flat = flat.double().cpu().numpy()
            sizes = [int(layout.offsets[-1]) for layout in layouts[start:start + batch_size]]
            if flat.shape[-1] != sum(sizes):
                raise HamkitError(f"the model returned {flat.shape[-1]} block elements, the graphs "
                                  f"need {sum(sizes)}: the head does not match the basis")
            for values, layout in zip(np.split(flat, np.cumsum(sizes)[:-1]), layouts[start:start + batch_size]):
                matrices.append(unpack_blocks(values, layout))
    return matrices


def predict_structures(
    trained: TrainedModel, structures: Sequence[NamedStructure], batch_size: int | None = None,
    track: Tracker = _no_progress,
) -> list[Prediction]:
    """H from the model, S from PySCF and orbital energies of unlabelled structures.

    Every structure is checked (elements, basis, charge) before any prediction runs.

    Args:
        trained: The model.
        structures: Named structures (e.g. from :func:`hamkit.data.structure_files.read_structure_files`).
        batch_size: Structures per forward pass (default: the training batch size).
        track: Progress wrapper.

    Returns:
        One :class:`Prediction` per structure, in input order.

    Raises:
        HamkitError: An element outside the model's basis, a basis PySCF cannot build.
    """
    graphs = [trained.graph(item.structure, item.name) for item in structures]
    molecules = [model_molecule(item.structure, trained.basis) for item in structures]
    hamiltonians = predict_matrices(trained, graphs, batch_size=batch_size, track=track)
    predictions = []
    for item, mol, hamiltonian in zip(structures, molecules, hamiltonians):
        overlap = canonical_overlap(mol, item.structure, trained.basis)
        energies, _ = solve_generalized_eigen(hamiltonian, overlap)
        predictions.append(Prediction(item.name, item.structure, hamiltonian, overlap, energies))
    return predictions


def check_data_basis(model_basis: OrbitalBasis, data_basis: OrbitalBasis, where: str) -> None:
    """Require the data's basis to be the model's (same name, same shells per element).

    Raises:
        HamkitError: Different basis names, an element the model lacks, or different shells.
    """
    if model_basis.name and data_basis.name and not same_basis_name(model_basis.name, data_basis.name):
        raise HamkitError(f"{where}: the data is in basis '{data_basis.name}', the model predicts "
                          f"'{model_basis.name}' Hamiltonians")
    missing = sorted(set(data_basis.elements) - set(model_basis.elements))
    if missing:
        raise HamkitError(f"{where}: the data has element(s) Z={missing} that the model's basis "
                          f"'{model_basis.name}' lacks (it covers Z={list(model_basis.elements)})")
    for z in data_basis.elements:
        if data_basis.shell_ls(z) != model_basis.shell_ls(z):
            raise HamkitError(
                f"{where}: element Z={z} has shells {list(data_basis.shell_ls(z))} in the data but "
                f"{list(model_basis.shell_ls(z))} in the model's basis '{model_basis.name}'"
            )


def evaluate_records(
    trained: TrainedModel, dataset: Dataset, indices: Sequence[int], batch_size: int | None = None,
    track: Tracker = _no_progress,
) -> dict[str, dict]:
    """QH9 metrics (micro-Hartree, psi in %) of the model on records of a dataset.

    Records without an overlap get PySCF's in the model's basis.

    Args:
        trained: The model.
        dataset: Labelled structures (canonical order, Hartree).
        indices: Which records.
        batch_size: Structures per forward pass (default: the training batch size).
        track: Progress wrapper.

    Returns:
        :func:`hamkit.physics.metrics.evaluate_hamiltonians` output
        (``{key: {"mean", "per_structure"}}``).

    Raises:
        HamkitError: No records, a basis mismatch, or an element the model lacks.
    """
    if len(indices) == 0:
        raise HamkitError("no structures to evaluate (empty split?)")
    check_data_basis(trained.basis, dataset.basis, "data")
    records = [dataset[int(index)] for index in indices]
    graphs = [trained.graph(record.structure, record.key or f"record {index}")
              for index, record in zip(indices, records)]
    predicted = predict_matrices(trained, graphs, dataset.basis, batch_size, track)
    matrices = []
    for record, h_pred in zip(records, predicted):
        overlap = record.overlap
        if overlap is None:
            overlap = canonical_overlap(model_molecule(record.structure, trained.basis),
                                        record.structure, trained.basis)
        matrices.append((h_pred, record.hamiltonian, overlap, record.structure.numbers))
    return metrics_of(matrices, dataset.basis)
