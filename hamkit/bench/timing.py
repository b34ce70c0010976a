"""Training-step time, inference time and peak memory of a recipe's (randomly initialized) model.

Every measurement here is meant to run in a fresh process (:func:`in_fresh_process`), so the
CPU peak-memory figure (growth of the peak resident set) is the process's own.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from hamkit.data.graph import graph_layout, labelled_graph, structure_graph
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.engine.batches import collate, targets_of
from hamkit.engine.objective import Objective
from hamkit.engine.optim import build_optimizer
from hamkit.engine.prepare import build_context, open_dataset
from hamkit.model import build_model
from hamkit.recipe import load_recipe


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status_mb(field: str) -> float:
    """A kB field of /proc/self/status in MB (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def current_rss_mb() -> float:
    """Resident set size of this process now, MB."""
    return _status_mb("VmRSS")


def high_water_rss_mb() -> float:
    """Peak resident set size since the process started or since :func:`reset_peak_rss`, MB."""
    return _status_mb("VmHWM")


def reset_peak_rss() -> bool:
    """Restart the peak-resident-set count from the current size (Linux >= 4.0).

    Returns:
        Whether the reset worked; if not, :func:`high_water_rss_mb` keeps the process's old peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` after the device's queued work is done."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a new spawned process (a clean peak-memory count); its result."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def step_time(recipe_path: str, dtype: str, batch_size: int, repeats: int, overrides: list[str]) -> dict:
    """Median forward+backward seconds and peak memory of one batch of the recipe's own data
    (the first ``batch_size`` structures); used by ``benchmarks/model_step.py``."""
    torch.manual_seed(0)
    recipe = load_recipe(recipe_path, [*overrides, f"train.dtype={dtype}"])
    dataset = open_dataset(recipe)
    context = build_context(dataset, dtype)
    device = pick_device()
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    cutoff = model.featurizer.pair_cutoff
    graphs = [labelled_graph(dataset[i], dataset.basis, cutoff) for i in range(batch_size)]
    batch = collate(graphs, getattr(torch, dtype), device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rss_before = peak_rss_mb()
    times = []
    for repeat in range(repeats + 1):
        start = time.perf_counter()
        total, _ = objective(model(batch), targets_of(batch))
        total.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if repeat:
            times.append(time.perf_counter() - start)
        model.zero_grad(set_to_none=True)
    memory = (torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda"
              else peak_rss_mb() - rss_before)
    return {
        "recipe": recipe_path, "dtype": dtype, "batch_size": batch_size, "device": str(device),
        "atoms": int(batch.num_nodes), "seconds": statistics.median(times),
        "peak_memory_mb": memory,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def synthetic_record(structure: Structure, basis: Any, seed: int = 0, cutoff: float | None = None) -> HamiltonianRecord:
    """A record with random labels for timing, not for learning: a symmetric H and identity S,
    or for a crystal a random H(R) with H(-R) = H(R)^T over the translations within ``cutoff``."""
    n = basis.total_orbitals(structure.numbers)
    rng = np.random.default_rng(seed)
    if not structure.is_periodic:
        matrix = rng.normal(scale=0.1, size=(n, n))
        return HamiltonianRecord(structure, (matrix + matrix.T) / 2, np.eye(n), key="bench")
    translations = graph_layout(structure_graph(structure, basis, cutoff), basis)[1]
    assert translations is not None  # the graph of a periodic structure has cell shifts
    matrices = rng.normal(scale=0.1, size=(len(translations), n, n))
    partner = {tuple(r): k for k, r in enumerate(translations.tolist())}
    for k, r in enumerate(translations.tolist()):
        mirror = partner[tuple(-v for v in r)]
        if mirror == k:
            matrices[k] = (matrices[k] + matrices[k].T) / 2
        elif mirror > k:
            matrices[mirror] = matrices[k].T.copy()
    overlap = np.zeros_like(matrices)
    overlap[partner[(0, 0, 0)]] = np.eye(n)
    return HamiltonianRecord(structure, matrices, overlap, key="bench", translations=translations)


def scaling_times(recipe_path: str, dtype: str, structures: Sequence[Structure], repeats: int,
                  overrides: Sequence[str] = (), warmup: int = 3) -> dict:
    """Train-step and inference medians and peak memory of the recipe's model per structure.

    The model is randomly initialized (seed 0) at the recipe's sizes, for the recipe's
    dataset's basis. Per structure (one per batch): ``repeats`` timed training steps
    (forward + backward + optimizer step) after ``warmup`` untimed ones, then ``repeats``
    timed forwards under ``no_grad`` after ``warmup`` untimed ones (the first calls of a
    model are much slower: kernel selection, TorchScript profiling). Peak memory: the CUDA peak of that
    structure's steps on GPU; on CPU the growth of this process's peak resident set since
    the model was built (structures should come smallest first: the peak is a high-water mark).

    Returns:
        ``device``, ``parameters``, ``basis``, ``torch_threads`` and ``rows``: per structure
        ``atoms``, ``orbitals``, ``train_step_s``, ``inference_s``, ``peak_memory_mb``.
    """
    torch.manual_seed(0)
    recipe = load_recipe(recipe_path, [*overrides, f"train.dtype={dtype}"])
    dataset = open_dataset(recipe)
    context = build_context(dataset, dtype)
    device = pick_device()
    torch_dtype = getattr(torch, dtype)
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    optimizer = build_optimizer(model.parameters(), recipe.sections.train)
    cutoff = model.featurizer.pair_cutoff
    rss_before = peak_rss_mb()
    rows = []
    for index, structure in enumerate(structures):
        record = synthetic_record(structure, dataset.basis, index, cutoff)
        batch = collate([labelled_graph(record, dataset.basis, cutoff)],
                        torch_dtype, device)
        targets = targets_of(batch)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        model.train()
        train_times = []
        for repeat in range(warmup + repeats):
            start = clock(device)
            optimizer.zero_grad(set_to_none=True)
            total, _ = objective(model(batch), targets)
            total.backward()
            optimizer.step()
            if repeat >= warmup:
                train_times.append(clock(device) - start)
        model.eval()
        inference_times = []
        with torch.no_grad():
            for repeat in range(warmup + repeats):
                start = clock(device)
                model(batch)
                if repeat >= warmup:
                    inference_times.append(clock(device) - start)
        memory = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                  else peak_rss_mb() - rss_before)
        rows.append({
            "atoms": int(structure.n_atoms),
            "orbitals": int(dataset.basis.total_orbitals(structure.numbers)),
            "train_step_s": statistics.median(train_times),
            "inference_s": statistics.median(inference_times),
            "peak_memory_mb": float(memory),
        })
    return {
        "device": str(device), "parameters": sum(p.numel() for p in model.parameters()),
        "basis": dataset.basis.name, "elements": [int(z) for z in dataset.basis.elements],
        "torch_threads": torch.get_num_threads(), "rows": rows,
    }


def recipe_basis(recipe_path: str, overrides: Sequence[str] = ()) -> tuple[str, list[int]]:
    """The basis name and elements the recipe's dataset gives its model."""
    recipe = load_recipe(recipe_path, list(overrides))
    basis = open_dataset(recipe).basis
    return basis.name, [int(z) for z in basis.elements]
