"""Training data at QH9 scale: prepare time, structures/s and memory of a streamed store.

Usage:
    python benchmarks/streaming_store.py [--structures 100000] [--store PATH] [--workers 0 2 4]
        [--batches 100] [--batch-size 32] [--model-steps 10] [--legacy-prepare] [--json out.json]

1. Writes a synthetic store of N small molecules (:mod:`hamkit.bench.synthetic_store`, random
   labels, the real writer and format; skipped when the file already holds N records).
2. Times the prepare phase of a streaming run: opening the store (record index), the
   geometry checks and sizes (atoms only), the split, and the on-site statistics (a bounded
   sample). ``--legacy-prepare`` also times what preparation did before streaming (every
   record read whole for the checks, statistics over every training record).
3. For each worker count: structures/s the training loop receives (``Trainer.batch``, the
   loader alone, after :func:`warmup_batches`) and, with ``--model-steps``, with the quick-start
   model's optimizer step too; peak RSS of the training process (whole run: prepare
   included) and of the largest worker, and the memory unique to a worker (USS).

Every measurement runs in its own Python process (clean peak-memory counts). Prints a table
and writes JSON (atomically) to ``--json`` (default: ``<store>.benchmark.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "quickstart.yaml"


def warmup_batches(workers: int) -> int:
    """Batches taken before timing the loader: the workers' head start (each fills
    ``PREFETCH_FACTOR`` batches while the first one is awaited) is drained, not counted."""
    from hamkit.engine.loaders import PREFETCH_FACTOR

    return 1 + PREFETCH_FACTOR * workers


# ------------------------------------------------------------------ measurements (child processes)

def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set of this process (or of its largest waited-for child), MB."""
    return resource.getrusage(who).ru_maxrss / 1024.0


def _recipe(store: str, workers: int, batch_size: int, steps: int):
    from hamkit.recipe import load_recipe

    return load_recipe(RECIPE, [f"data.dataset.path={store}", "data.stream=true", f"train.num_workers={workers}",
                                f"train.batch_size={batch_size}", f"train.steps={max(steps, 1)}", "train.device=cpu",
                                "train.eval_every=0"])


def measure_prepare(store: str, legacy: bool) -> dict[str, Any]:
    """Seconds of each prepare phase of a streaming run (and, if asked, of the old full-read one)."""
    from hamkit.engine.prepare import build_context, open_dataset, prepare_data

    recipe = _recipe(store, 0, 32, 1)
    start = time.perf_counter()
    dataset = open_dataset(recipe)
    opened = time.perf_counter()
    data = prepare_data(recipe)  # opens again (index scan), checks atoms, splits
    prepared = time.perf_counter()
    build_context(data.dataset, "float32", data.splits["train"], 0)
    done = time.perf_counter()
    result = {"open_seconds": opened - start, "prepare_data_seconds": prepared - opened,
              "statistics_seconds": done - prepared, "structures": len(dataset),
              "train_structures": len(data.splits["train"]), "peak_rss_mb": _peak_rss_mb()}
    if legacy:
        result["legacy"] = _legacy_prepare(data)
    return result


def _legacy_prepare(data) -> dict[str, float]:
    """The preparation before streaming: every record read whole, statistics over every training record."""
    from hamkit.data.geometry_checks import check_structure
    from hamkit.model.baseline import mean_onsite_blocks

    start = time.perf_counter()
    for index, record in enumerate(data.dataset):
        check_structure(record.structure, f"record {record.key or index!r} (index {index})")
    checked = time.perf_counter()
    mean_onsite_blocks((data.dataset[int(i)] for i in data.splits["train"]), data.dataset.basis)
    return {"checks_seconds": checked - start, "statistics_seconds": time.perf_counter() - checked}


def _worker_uss_mb() -> list[float]:
    """Memory unique to each child process now (USS), MB; empty without psutil."""
    try:
        import psutil
    except ImportError:
        return []
    sizes = []
    for child in psutil.Process().children():
        try:
            sizes.append(child.memory_full_info().uss / 2**20)
        except psutil.Error:
            pass
    return sizes


def measure_throughput(store: str, workers: int, batches: int, batch_size: int, model_steps: int) -> dict[str, Any]:
    """Structures/s through ``Trainer.batch`` (and through ``Trainer.train_step``), and memory."""
    import torch

    from hamkit.engine.objective import Objective
    from hamkit.engine.prepare import build_context, prepare_data, split_graphs
    from hamkit.engine.trainer import Trainer
    from hamkit.model import build_model

    torch.manual_seed(0)
    steps = warmup_batches(workers) + max(batches, model_steps + 1)
    recipe = _recipe(store, workers, batch_size, steps)
    data = prepare_data(recipe)
    context = build_context(data.dataset, "float32", data.splits["train"], 0)
    model = build_model(recipe, context)
    graphs = split_graphs(data, model.featurizer.pair_cutoff)
    trainer = Trainer(model, Objective.from_recipe(recipe, context), graphs["train"], graphs["val"],
                      recipe.sections.train, torch.device("cpu"))
    result: dict[str, Any] = {"workers": workers, "batch_size": batch_size, "streaming": data.streaming}
    result["loader_structures_per_second"], uss = _time_batches(trainer, batches)
    result["worker_uss_mb"] = max(uss, default=0.0)
    trainer.close_loaders()
    if model_steps:
        trainer.state.step = 0  # the steps below start a fresh loader at batch 0
        trainer.train_step()  # warm-up
        start = time.perf_counter()
        for _ in range(model_steps):
            trainer.train_step()
        result["model_structures_per_second"] = model_steps * batch_size / (time.perf_counter() - start)
        trainer.close_loaders()
    result["main_peak_rss_mb"] = _peak_rss_mb()
    result["worker_peak_rss_mb"] = _peak_rss_mb(resource.RUSAGE_CHILDREN) if workers else 0.0
    return result


def _time_batches(trainer, batches: int) -> tuple[float, list[float]]:
    """Structures/s of ``batches`` loader batches after the warm-up, and the workers' USS at the end."""
    warmup = warmup_batches(trainer.train.num_workers)
    for number in range(warmup):
        trainer.batch(number)
    start, structures = time.perf_counter(), 0
    for number in range(warmup, warmup + batches):
        structures += trainer.batch(number)[1]
    seconds = time.perf_counter() - start
    return structures / seconds, _worker_uss_mb()


MEASUREMENTS = {"prepare": measure_prepare, "throughput": measure_throughput}


def in_child(name: str, **kwargs: Any) -> dict[str, Any]:
    """Run ``MEASUREMENTS[name](**kwargs)`` in a new Python process; its JSON result."""
    command = [sys.executable, __file__, "--child", json.dumps({"name": name, "kwargs": kwargs})]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode:
        raise RuntimeError(f"{name} {kwargs} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ driver

def write_store(path: Path, structures: int) -> dict[str, Any]:
    """Write (or complete) the synthetic store; seconds and file size."""
    from hamkit.bench.synthetic_store import stored_count, write_synthetic_store

    start = time.perf_counter()
    reused = min(stored_count(path), structures)

    def report(done: int, total: int) -> None:
        if done % 10_000 == 0:
            print(f"  wrote {done}/{total} ({time.perf_counter() - start:.0f} s)", flush=True)

    write_synthetic_store(path, structures, progress=report)
    return {"path": str(path), "structures": structures, "reused_records": reused,
            "write_seconds": time.perf_counter() - start, "size_bytes": path.stat().st_size}


def print_table(result: dict[str, Any]) -> None:
    """The measurements as text."""
    prepare = result["prepare"]
    store = result["store"]
    written = f"{store['structures'] - store['reused_records']} written in {store['write_seconds']:.0f} s"
    print(f"\n# {result['machine']}; {prepare['structures']} structures "
          f"({store['size_bytes'] / 2**30:.2f} GiB, {written})")
    print(f"prepare (streaming): open {prepare['open_seconds']:.1f} s, checks+sizes+split "
          f"{prepare['prepare_data_seconds']:.1f} s, statistics {prepare['statistics_seconds']:.1f} s "
          f"({prepare['train_structures']} training structures), peak RSS {prepare['peak_rss_mb']:.0f} MB")
    if "legacy" in prepare:
        legacy = prepare["legacy"]
        print(f"prepare (before: whole records): checks+sizes {legacy['checks_seconds']:.1f} s, statistics "
              f"{legacy['statistics_seconds']:.1f} s")
    print(f"{'workers':>7s} {'loader str/s':>13s} {'+model str/s':>13s} {'main peak MB':>13s} "
          f"{'worker peak MB':>15s} {'worker USS MB':>14s}")
    for row in result["throughput"]:
        model = row.get("model_structures_per_second")
        print(f"{row['workers']:7d} {row['loader_structures_per_second']:13.1f} "
              f"{'-' if model is None else f'{model:.1f}':>13s} {row['main_peak_rss_mb']:13.0f} "
              f"{row['worker_peak_rss_mb']:15.0f} {row['worker_uss_mb']:14.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=None, help="default: synthetic_<N>.h5 in the temp folder")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model-steps", type=int, default=10, help="0: loader only")
    parser.add_argument("--legacy-prepare", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(MEASUREMENTS[job["name"]](**job["kwargs"])))
        return

    from hamkit.safe_output import atomic_file

    store = args.store or Path(os.environ.get("TMPDIR", "/tmp")) / f"synthetic_{args.structures}.h5"
    print(f"store {store}", flush=True)
    result: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                              f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
                              "store": write_store(store, args.structures)}
    result["prepare"] = in_child("prepare", store=str(store), legacy=args.legacy_prepare)
    result["throughput"] = [in_child("throughput", store=str(store), workers=workers, batches=args.batches,
                                     batch_size=args.batch_size, model_steps=args.model_steps)
                            for workers in args.workers]
    print_table(result)
    out = args.json or store.with_suffix(".benchmark.json")
    with atomic_file(out) as temporary:
        temporary.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
