"""Forward+backward time and peak memory per batch for recipes, float32 and float64.

Usage:
    python benchmarks/model_step.py recipes/qhnet.yaml recipes/tracegrad_qhnet.yaml \
        [--batch-size 4] [--repeats 5] [--set key=value ...] [--json out.json]

Each recipe's model is built at the recipe's sizes on its own dataset; the batch
is the first ``batch-size`` structures. Times are medians over repeats after one
warm-up step; peak memory is the CUDA peak on GPU, else the growth of the peak
resident set of a fresh process during the steps (a rough CPU figure). Each row
runs in its own process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import json
import platform
import resource
import statistics
import time

import torch

from hamkit.data.graph import labelled_graph
from hamkit.engine.batches import collate, targets_of
from hamkit.engine.objective import Objective
from hamkit.engine.prepare import build_context, open_dataset
from hamkit.model import build_model
from hamkit.recipe import load_recipe


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def step_time(recipe_path: str, dtype: str, batch_size: int, repeats: int, overrides: list[str]) -> dict:
    """Median forward+backward seconds and peak memory of one batch."""
    torch.manual_seed(0)
    recipe = load_recipe(recipe_path, [*overrides, f"train.dtype={dtype}"])
    dataset = open_dataset(recipe)
    context = build_context(dataset, dtype)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    cutoff = getattr(model.featurizer, "pair_cutoff", None)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    jobs = [(recipe, dtype, args.batch_size, args.repeats, args.overrides)
            for recipe in args.recipes for dtype in args.dtypes.split(",")]
    rows = []
    for job in jobs:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            rows.append(pool.apply(step_time, job))
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"{'recipe':40s} {'dtype':8s} {'atoms':>5s} {'params':>10s} {'step s':>8s} {'mem MB':>8s}")
    for row in rows:
        print(f"{row['recipe']:40s} {row['dtype']:8s} {row['atoms']:5d} {row['parameters']:10,d} "
              f"{row['seconds']:8.3f} {row['peak_memory_mb']:8.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": platform.platform(), "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
