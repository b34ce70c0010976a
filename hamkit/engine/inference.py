"""Predicting with a trained model: Hamiltonians of new structures, and metrics on data.

Everything here works in hamkit's canonical orbital order and Hartree; conversion to a
code's order happens only when writing files (:mod:`hamkit.engine.prediction_files`).
Predictions go through the same graphs, batching and unpacking as the evaluation after
training (:mod:`hamkit.engine.evaluation`), so they are the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import Dataset
from hamkit.data.basis import OrbitalBasis
from hamkit.data.geometry_checks import check_overlap, check_structure
from hamkit.data.graph import graph_layout
from hamkit.data.graph_fields import HAMILTONIAN
from hamkit.data.structure import Structure
from hamkit.data.structure_files import NamedStructure
from hamkit.engine.batches import collate
from hamkit.engine.evaluation import evaluate_predictions
from hamkit.engine.prepare import report_warnings
from hamkit.engine.pyscf_bridge import canonical_overlap, model_molecule, same_basis_name
from hamkit.engine.restore import TrainedModel
from hamkit.errors import HamkitError
from hamkit.labelling.pbc_overlap import real_space_overlap
from hamkit.physics.bloch import bloch_matrices
from hamkit.physics.blocks import PackedBlockLayout, unpack_blocks
from hamkit.physics.eigen import solve_generalized_eigen
from hamkit.physics.periodic_metrics import PERIODIC_OVERLAP_THRESHOLD

Item = TypeVar("Item")
Tracker = Callable[[Sequence[Item], str], Iterable[Item]]
Reporter = Callable[[Sequence[str]], None]

LARGE_STRUCTURE_FACTOR = 4
"""Structures with more than this many times the largest training structure's atoms get a
size warning (:func:`size_warnings`)."""

LARGE_STRUCTURE_ATOMS = 200
"""Size warning threshold (atoms) for runs that did not record their training sizes."""

PEAK_BYTES_PER_ELEMENT = 92.0
"""Peak memory of a prediction per predicted H element, per byte of the model's dtype.

Measured with the quick-start model (qhnet hidden 16, 3 layers, lmax 2; fully connected
water clusters, one CPU core, whole ``predict_structures``): 364 B per element in float32
(81 and 162 atoms: 157 MB for 0.42 M elements, 612 MB for 1.68 M), 730 B in float64."""

SECONDS_PER_ELEMENT = 6e-6
"""Forward-pass seconds per predicted H element, same measurement (4.2 us at 81 atoms,
5.8 us at 162 atoms: it grows slowly with size)."""

SECONDS_PER_ORBITAL_CUBED = 4e-10
"""Seconds of the generalized eigensolve per orbital**3 (0.86 s for 1296 orbitals, one core)."""


def _no_progress(items: Sequence[Item], description: str) -> Iterable[Item]:
    return items


@dataclass(frozen=True)
class Prediction:
    """The model's Hamiltonian of one structure with its overlap and orbital energies.

    Attributes:
        name: Where the structure came from.
        structure: The atoms.
        hamiltonian: Predicted H (n, n), canonical order, Hartree, symmetric; for a crystal
            H(R) (n_R, n, n) with H(-R) = H(R)^T.
        overlap: PySCF's S in the model's basis, canonical order, same shape.
        orbital_energies: Solutions of ``H C = S C eps`` (Hartree), ascending; for a
            crystal the bands at Gamma.
        translations: Crystals only: (n_R, 3) lattice translations of the matrices.
    """

    name: str
    structure: Structure
    hamiltonian: np.ndarray
    overlap: np.ndarray
    orbital_energies: np.ndarray
    translations: np.ndarray | None = None


def _predict_packed(
    trained: TrainedModel, graphs: Sequence[Data], layouts: Sequence[PackedBlockLayout],
    batch_size: int, track: Tracker,
) -> list[np.ndarray]:
    """Packed float64 predictions of each graph, checked against its layout's size."""
    starts = list(range(0, len(graphs), batch_size))
    packed: list[np.ndarray] = []
    trained.model.eval()
    with torch.no_grad():  # not inference_mode: gradient inducers differentiate inside forward
        for start in track(starts, "predicting"):
            chunk = graphs[start:start + batch_size]
            flat = trained.model(collate(chunk, trained.dtype, trained.device))[HAMILTONIAN]
            flat = flat.double().cpu().numpy()
            sizes = [int(layout.offsets[-1]) for layout in layouts[start:start + batch_size]]
            if flat.shape[-1] != sum(sizes):
                raise HamkitError(f"the model returned {flat.shape[-1]} block elements, the graphs "
                                  f"need {sum(sizes)}: the head does not match the basis")
            packed.extend(np.split(flat, np.cumsum(sizes)[:-1]))
    return packed


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
        One matrix per graph, in order: (n, n) for a molecule, (n_R, n, n) over the graph's
        translations (:func:`hamkit.data.graph.graph_layout`) for a crystal; blocks the graph
        does not predict are 0.
    """
    basis = basis or trained.basis
    layouts = [graph_layout(graph, basis)[0] for graph in graphs]
    packed = _predict_packed(trained, graphs, layouts, batch_size or trained.batch_size, track)
    return [unpack_blocks(values, layout) for values, layout in zip(packed, layouts)]


def predict_real_space(
    trained: TrainedModel, structure: Structure, where: str = "structure"
) -> tuple[np.ndarray, np.ndarray]:
    """The model's real-space Hamiltonian H(R) of one periodic structure.

    Args:
        trained: The model.
        structure: A periodic structure (with cell and pbc).
        where: What the structure is, for messages.

    Returns:
        ``(translations (n_R, 3) int64, hamiltonian (n_R, n, n) float64)``: every block
        (i, j, R) within the model's cutoff, canonical order, Hartree; other entries 0.

    Raises:
        HamkitError: A molecule, or an element the model lacks.
    """
    if not structure.is_periodic:
        raise HamkitError(f"{where}: not periodic (no cell/pbc); real-space H(R) needs a crystal")
    graph = trained.graph(structure, where)
    [hamiltonian] = predict_matrices(trained, [graph], batch_size=1)
    return _crystal_translations(graph, trained.basis), hamiltonian


def _crystal_translations(graph: Data, basis: OrbitalBasis) -> np.ndarray:
    """The lattice translations (n_R, 3) of a crystal's graph (:func:`hamkit.data.graph.graph_layout`).

    Raises:
        ValueError: The graph is a molecule's (it has no cell shifts).
    """
    translations = graph_layout(graph, basis)[1]
    if translations is None:
        raise ValueError("expected the graph of a periodic structure, got a molecule's (no cell shifts)")
    return translations


def predict_structures(
    trained: TrainedModel, structures: Sequence[NamedStructure], batch_size: int | None = None,
    track: Tracker = _no_progress, pyscf_settings: tuple[str, str | None] | None = None,
    report: Reporter = report_warnings,
) -> list[Prediction]:
    """H from the model, S from PySCF and orbital energies of unlabelled structures.

    Every structure is checked (elements, basis, charge, a positive-definite S for
    molecules) before any prediction runs; structures far larger than the training set
    get a warning with the expected memory and time (:func:`size_warnings`). Crystals get
    H(R) over the blocks within the model's cutoff, the exact S(R) at the same
    translations (:func:`hamkit.data.pbc_overlap.real_space_overlap`) and their bands at
    Gamma.

    Args:
        trained: The model.
        structures: Named structures (e.g. from :func:`hamkit.data.structure_files.read_structure_files`).
        batch_size: Structures per forward pass (default: the training batch size).
        track: Progress wrapper.
        pyscf_settings: ``(basis_name, pseudo)`` of the PySCF cell for crystals' S(R).
        report: Receives the size warnings (default: printed on stderr).

    Returns:
        One :class:`Prediction` per structure, in input order.

    Raises:
        HamkitError: An element outside the model's basis, a basis PySCF cannot build, a
            singular or indefinite S of a molecule, or a crystal without ``pyscf_settings``.
    """
    featurizer = trained.model.featurizer
    if any(item.structure.is_periodic for item in structures) and not featurizer.supports_periodic:
        raise HamkitError(f"the model's featurizer '{featurizer.name}' does not support periodic structures; "
                          "train a periodic model (e.g. recipes/deeph_e3.yaml) for crystals")
    if any(item.structure.is_periodic for item in structures) and pyscf_settings is None:
        raise HamkitError("periodic structures need the PySCF basis and pseudopotential of the "
                          "model's data for their overlap S(R)")
    graphs = [trained.graph(item.structure, item.name) for item in structures]
    molecules = [None if item.structure.is_periodic else model_molecule(item.structure, trained.basis)
                 for item in structures]
    overlaps = [None if mol is None else checked_overlap(mol, item, trained.basis)
                for item, mol in zip(structures, molecules)]
    report(size_warnings(trained, structures, graphs))
    hamiltonians = predict_matrices(trained, graphs, batch_size=batch_size, track=track)
    predictions = []
    for item, overlap, graph, hamiltonian in zip(structures, overlaps, graphs, hamiltonians):
        if overlap is None:
            assert pyscf_settings is not None  # refused above when a structure is periodic
            predictions.append(_crystal_prediction(trained, item, graph, hamiltonian, pyscf_settings))
            continue
        energies, _ = solve_generalized_eigen(hamiltonian, overlap)
        predictions.append(Prediction(item.name, item.structure, hamiltonian, overlap, energies))
    return predictions


def checked_overlap(mol: object, item: NamedStructure, basis: OrbitalBasis) -> np.ndarray:
    """PySCF's S of a molecule (canonical order, (n, n)), refused when singular or indefinite.

    Raises:
        HamkitError: Naming the structure, S's smallest eigenvalue and the likely cause
            (:func:`hamkit.data.geometry_checks.check_overlap`).
    """
    overlap = canonical_overlap(mol, item.structure, basis)
    check_overlap(overlap, item.name)
    return overlap


def size_warnings(trained: TrainedModel, structures: Sequence[NamedStructure],
                  graphs: Sequence[Data]) -> list[str]:
    """Warnings for structures far larger than the model's training structures.

    A structure is "far larger" with more than :data:`LARGE_STRUCTURE_FACTOR` times the
    atoms of the largest training structure (``model_info.json``'s
    ``largest_training_atoms``), or more than :data:`LARGE_STRUCTURE_ATOMS` atoms when the
    run did not record it. The estimate counts the predicted H elements of the graph (every
    pair block's n_i x n_j orbitals: about (number of orbitals)^2 for a fully connected
    graph) and uses the factors measured with the quick-start model.

    Args:
        trained: The model.
        structures: The structures, in order.
        graphs: Their prediction graphs (same order).

    Returns:
        One message per large structure, naming it, its size and the estimate.
    """
    largest = trained.largest_training_atoms
    limit = LARGE_STRUCTURE_FACTOR * largest if largest else LARGE_STRUCTURE_ATOMS
    messages = []
    for item, graph in zip(structures, graphs):
        atoms = item.structure.n_atoms
        if atoms <= limit:
            continue
        layout = graph_layout(graph, trained.basis)[0]
        seen = (f"{atoms / largest:.0f}x the largest training structure ({largest} atoms)" if largest
                else f"more than {LARGE_STRUCTURE_ATOMS} atoms; this run did not record its training sizes")
        messages.append(
            f"{item.name}: {atoms} atoms, {seen}: accuracy at this size is untested, and its "
            f"{len(layout.pairs)} atom-pair blocks ({int(layout.offsets[-1])} H elements, "
            f"{layout.n_orbitals} orbitals) need {_estimate(layout, trained.dtype)} "
            "(estimated from the quick-start model; larger models and busy machines take more)")
    return messages


def _estimate(layout: PackedBlockLayout, dtype: torch.dtype) -> str:
    """``"about 1.2 GB of memory and 40 s on one CPU core"`` for a prediction of ``layout``."""
    elements = float(layout.offsets[-1])
    itemsize = torch.empty(0, dtype=dtype).element_size()
    memory = PEAK_BYTES_PER_ELEMENT * itemsize * elements
    seconds = SECONDS_PER_ELEMENT * elements + SECONDS_PER_ORBITAL_CUBED * float(layout.n_orbitals) ** 3
    return f"about {_bytes_text(memory)} of memory and {_seconds_text(seconds)} on one CPU core"


def _bytes_text(value: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value / 1e3:.0f} kB"


def _seconds_text(value: float) -> str:
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 60:
        return f"{value / 60:.0f} min"
    return f"{value:.1f} s"


def _crystal_prediction(
    trained: TrainedModel, item: NamedStructure, graph: Data, hamiltonian: np.ndarray,
    pyscf_settings: tuple[str, str | None],
) -> Prediction:
    """H(R) with PySCF's S(R) at the graph's translations and the bands at Gamma."""
    translations = _crystal_translations(graph, trained.basis)
    basis_name, pseudo = pyscf_settings
    try:
        overlap = real_space_overlap(item.structure, trained.basis, basis_name, pseudo, translations)
    except (RuntimeError, ValueError, KeyError) as error:
        raise HamkitError(f"{item.name}: PySCF cannot build the overlap in basis '{basis_name}' "
                          f"(pseudopotential {pseudo}): {error}") from None
    gamma = np.zeros(3)
    energies, _ = solve_generalized_eigen(bloch_matrices(translations, hamiltonian, gamma),
                                          bloch_matrices(translations, overlap, gamma), PERIODIC_OVERLAP_THRESHOLD)
    return Prediction(item.name, item.structure, hamiltonian, overlap, energies, translations)


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
    trained: TrainedModel, dataset: Dataset, indices: Sequence[int] | np.ndarray, batch_size: int | None = None,
    track: Tracker = _no_progress,
) -> dict[str, dict]:
    """QH9 metrics (micro-Hartree, psi in %) of the model on records of a dataset.

    Molecules without an overlap get PySCF's in the model's basis; crystals are scored on
    their blocks and bands (:mod:`hamkit.physics.periodic_metrics`).

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
        HamkitError: No records, a basis mismatch, an element the model lacks, or an unusable
            geometry (named by dataset and record).
    """
    if len(indices) == 0:
        raise HamkitError("no structures to evaluate (empty split?)")
    check_data_basis(trained.basis, dataset.basis, "data")
    records = [dataset[int(index)] for index in indices]
    source = dataset.path or "data"
    names = [f"{source}: record {record.key or index}" for index, record in zip(indices, records)]
    for record, name in zip(records, names):
        check_structure(record.structure, name)
    graphs = [trained.graph(record.structure, name) for record, name in zip(records, names)]
    layouts = [graph_layout(graph, dataset.basis)[0] for graph in graphs]
    packed = _predict_packed(trained, graphs, layouts, batch_size or trained.batch_size, track)
    complete = [record if record.overlap is not None or record.is_periodic else replace(
        record, overlap=canonical_overlap(model_molecule(record.structure, trained.basis),
                                          record.structure, trained.basis)) for record in records]
    return evaluate_predictions(complete, graphs, packed, dataset.basis)
