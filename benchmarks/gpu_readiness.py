"""One short check of hamkit's CUDA paths, for a machine with a GPU.

Usage:
    python benchmarks/gpu_readiness.py [--steps 300] [--out gpu_readiness] [--device cuda]

What it runs (each part reports its own numbers; a failing part does not stop the others):

1. ``equivariance``: the reference-size QHNet (``recipes/qhnet_reference_size.yaml``) built in
   float64 on the device, rotated/permuted water: ``H(R x) = D H(x) D^T`` to 1e-10.
2. ``step``: training-step time and peak device memory of the reference-size model, float32
   and bf16 autocast, batch 10 water (in this process; ``torch.cuda.max_memory_allocated``).
3. ``train``: ``hamkit train`` of the reference-size recipe for ``--steps`` steps on the
   device with 2 loader workers (pinned memory) and bf16 autocast; structures/s from its
   ``metrics.jsonl``.
4. ``ddp``: the same recipe for 20 steps under ``torchrun`` on every visible GPU (NCCL).

Results go to ``OUT/gpu_readiness.json`` and a table on stdout. With ``--device cpu`` the same
script runs on CPU (minus the NCCL part) as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch

RECIPE = "recipes/qhnet_reference_size.yaml"
DATA = "embedded:water"


def check_equivariance(device: torch.device) -> dict:
    """The float64 reference-size model on ``device``: largest relative equivariance error."""
    from hamkit.engine.prepare import build_context, open_dataset
    from hamkit.model import build_model
    from hamkit.recipe import load_recipe
    from hamkit.testing import assert_hamiltonian_equivariant
    from hamkit.testing.graphs import molecule_graph

    torch.manual_seed(0)
    recipe = load_recipe(RECIPE, ["train.dtype=float64"])
    dataset = open_dataset(recipe)
    model = build_model(recipe, build_context(dataset, "float64")).to(device).eval()
    graph = molecule_graph(dataset[0].structure, dataset.basis)

    def on_device(g):  # noqa: ANN001, ANN202 - graph in, packed H out (on CPU)
        return model(g.to(device))["hamiltonian"].cpu()

    report = assert_hamiltonian_equivariant(on_device, graph, dataset.basis, rtol=1e-10)
    return {"max_relative_error": report.max_error}


def step_costs(device: torch.device, repeats: int = 10) -> dict:
    """Median training-step seconds and peak memory, float32 and bf16 autocast."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import vs_reference_qhnet as side_by_side

    dataset, records = side_by_side.batch_records(DATA, 10, 2)
    results = {}
    for autocast in (False, True):
        contender = side_by_side.hamkit_contender(RECIPE, dataset, records, None, torch.float32, device)
        times = []
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for step in range(repeats + 2):
            start = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                contender.train_step(contender.batches[step % 2])
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if step >= 2:
                times.append(time.perf_counter() - start)
        times.sort()
        results["bf16" if autocast else "float32"] = {
            "train_step_s": times[len(times) // 2],
            "peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        }
    return results


def _structures_per_second(run: Path) -> float:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [row["structures_per_second"] for row in rows if row.get("kind") == "train"]
    return sorted(rates)[len(rates) // 2]


def train_run(out: Path, device: str, steps: int) -> dict:
    """``hamkit train`` on the device with loader workers and bf16 autocast."""
    run = out / "train"
    command = ["hamkit", "train", RECIPE, "--out", str(run), "--overwrite",
               "--set", f"train.steps={steps}", "--set", f"train.device={device}",
               "--set", "train.num_workers=2", "--set", "train.log_every=10",
               "--set", f"train.checkpoint_every={steps}", "--set", f"train.eval_every={steps}"]
    if device == "cuda":
        command += ["--set", "train.autocast=bf16"]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return {"wall_s": time.perf_counter() - started, "structures_per_second": _structures_per_second(run)}


def ddp_run(out: Path) -> dict:
    """20 steps under torchrun on every visible GPU (NCCL)."""
    gpus = torch.cuda.device_count()
    run = out / "ddp"
    command = ["torchrun", f"--nproc_per_node={gpus}", "-m", "hamkit.cli.main", "train", RECIPE,
               "--out", str(run), "--overwrite", "--set", "train.steps=20", "--set", "train.device=cuda",
               "--set", "train.log_every=5", "--set", "train.checkpoint_every=20", "--set", "train.eval_every=20"]
    subprocess.run(command, check=True)
    return {"gpus": gpus, "structures_per_second": _structures_per_second(run)}


def attempt(name: str, part: Callable[[], dict], results: dict) -> None:
    """Run one part; record its result or its error."""
    started = time.perf_counter()
    try:
        results[name] = {"ok": True, **part()}
    except Exception as error:  # noqa: BLE001 - every part reports, none stops the others
        traceback.print_exc()
        results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    results[name]["seconds"] = time.perf_counter() - started
    print(f"{name}: {json.dumps(results[name])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", default=os.environ.get("OUT", "gpu_readiness"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                     "torch": torch.__version__}
    attempt("equivariance", lambda: check_equivariance(device), results)
    attempt("step", lambda: step_costs(device), results)
    attempt("train", lambda: train_run(out, args.device, args.steps), results)
    if device.type == "cuda":
        attempt("ddp", lambda: ddp_run(out), results)
    (out / "gpu_readiness.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
