"""PySCF SCF time, and the inference pipeline of a trained model that replaces it."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from hamkit.bench.timing import clock
from hamkit.data.structure import Structure


def scf_seconds(structure: Structure, basis: Any, xc: str = "b3lyp", conv_tol: float = 1e-9) -> dict[str, Any]:
    """Wall seconds, cycles and convergence of one PySCF RKS run (``xc``, the model's basis,
    default grids) from the default 'minao' guess."""
    from pyscf import dft

    from hamkit.engine.pyscf_bridge import model_molecule

    mol = model_molecule(structure, basis, closed_shell=True)
    start = time.perf_counter()
    solver = dft.RKS(mol)
    solver.xc = xc
    solver.conv_tol = conv_tol
    solver.verbose = 0
    solver.kernel()
    return {"seconds": time.perf_counter() - start, "cycles": int(solver.cycles),
            "converged": bool(solver.converged)}


def inference_seconds(trained: Any, item: Any, repeats: int) -> dict[str, float]:
    """Median seconds of forward, overlap and eigensolve for one molecule of a trained model
    (:class:`hamkit.engine.restore.TrainedModel`, :class:`hamkit.data.structure_files.NamedStructure`)."""
    from hamkit.engine.inference import predict_matrices
    from hamkit.engine.pyscf_bridge import canonical_overlap, model_molecule
    from hamkit.physics.eigen import solve_generalized_eigen

    runs: dict[str, list[float]] = {"forward": [], "overlap": [], "eigensolve": []}
    for attempt in range(repeats + 1):
        start = clock(trained.device)
        graph = trained.graph(item.structure, item.name)
        [hamiltonian] = predict_matrices(trained, [graph], batch_size=1)
        forward_done = clock(trained.device)
        overlap = canonical_overlap(model_molecule(item.structure, trained.basis), item.structure, trained.basis)
        overlap_done = time.perf_counter()
        solve_generalized_eigen(hamiltonian, overlap)
        solved = time.perf_counter()
        if attempt:  # the first pass warms caches up
            runs["forward"].append(forward_done - start)
            runs["overlap"].append(overlap_done - forward_done)
            runs["eigensolve"].append(solved - overlap_done)
    medians = {key: statistics.median(values) for key, values in runs.items()}
    medians["total"] = sum(medians.values())
    return medians


def pick_molecules(path: str, count: int) -> list[Any]:
    """``count`` records (as ``NamedStructure``) spread evenly over the sizes of a hamkit store."""
    from hamkit.data.structure_files import NamedStructure
    from hamkit.engine.prepare import open_dataset_file

    dataset = open_dataset_file(path)
    sizes = np.array([dataset[i].structure.n_atoms for i in range(len(dataset))])
    order = np.argsort(sizes, kind="stable")
    chosen = order[np.unique(np.linspace(0, len(order) - 1, min(count, len(order))).round().astype(int))]
    items = []
    for index in chosen:
        record = dataset[int(index)]
        name = record.extras.get("name") or record.extras.get("smiles") or record.key
        items.append(NamedStructure(str(name), record.structure))
    return items
