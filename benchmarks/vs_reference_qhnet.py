"""hamkit's QHNet against the public reference implementation, side by side.

Usage:
    python benchmarks/vs_reference_qhnet.py --reference /path/to/AIRS \
        [--recipe recipes/qhnet_reference_size.yaml --recipe recipes/tracegrad_qhnet_reference_size.yaml] \
        [--data embedded:water] [--batch-size 10] [--steps 20] [--threads 1] [--compiled] [--json out.json]

``--reference`` is a checkout of https://github.com/divelab/AIRS (or its
``OpenDFT/QHBench/QH9`` folder, or the ``models/QHNet.py`` file itself); nothing of it is
copied into hamkit. Every model trains on the same structures in the same batches
(AdamW at the first recipe's learning rate: torch's default AdamW for the reference, as its
training script; hamkit's own optimizer setup, as ``hamkit train``), step by step in one process: each round runs one
training step of every model, the order rotating from round to round, so a slow spell of a
shared machine hits all models alike. Reported per model: median seconds per training step,
median inference milliseconds per molecule (no_grad forward), peak memory of training
(per model in a fresh process: CUDA peak on GPU, on CPU the growth of the peak resident set
from before the model is built through three steps: parameters, optimizer state, batches,
activations), parameters (and those the forward actually uses), the loss after the last
step, and every ratio to the reference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_qhnet  # noqa: E402  (the benchmark's own adapter, next to this file)

from hamkit.bench.machine import machine_info  # noqa: E402
from hamkit.bench.timing import (  # noqa: E402
    clock,
    current_rss_mb,
    high_water_rss_mb,
    in_fresh_process,
    pick_device,
    reset_peak_rss,
)
from hamkit.data.graph import labelled_graph  # noqa: E402
from hamkit.engine.batches import collate, targets_of  # noqa: E402
from hamkit.engine.objective import Objective  # noqa: E402
from hamkit.engine.optim import build_optimizer  # noqa: E402
from hamkit.engine.prepare import build_context, open_dataset_file  # noqa: E402
from hamkit.model import build_model  # noqa: E402
from hamkit.recipe import load_recipe  # noqa: E402
from hamkit.safe_output import atomic_file  # noqa: E402

REFERENCE = "reference QHNet"


@dataclass
class Contender:
    """One model with its batches and what one training step / one inference means for it."""

    name: str
    model: torch.nn.Module
    batches: list
    loss: Callable[[torch.nn.Module, object], torch.Tensor]
    optimizer: torch.optim.Optimizer

    def train_step(self, batch: object) -> float:
        """One AdamW step on ``batch``; returns the loss."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model, batch)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def infer(self, batch: object) -> None:
        """One forward pass in evaluation mode."""
        self.model.eval()
        with torch.no_grad():
            self.model(batch)


def batch_records(data: str, batch_size: int, batches: int) -> tuple[object, list[list]]:
    """The dataset and ``batches`` consecutive batches of its records (wrapping around)."""
    dataset = open_dataset_file(data)
    order = [k % len(dataset) for k in range(batch_size * batches)]
    return dataset, [[dataset[i] for i in order[b * batch_size:(b + 1) * batch_size]] for b in range(batches)]


def hamkit_contender(recipe_path: str, dataset: object, records: list[list], lr: float | None,
                     dtype: torch.dtype, device: torch.device, compiled: bool = False) -> Contender:
    """hamkit's model of a recipe, built for the dataset's basis (``compiled``: with the
    featurizer's ``compile`` option on)."""
    torch.manual_seed(0)
    overrides = [f"train.dtype={str(dtype).removeprefix('torch.')}"] + ([f"train.lr={lr}"] if lr else [])
    overrides += ["model.featurizer.compile=true"] if compiled else []
    recipe = load_recipe(recipe_path, overrides)
    context = build_context(dataset, str(dtype).removeprefix("torch."))
    model = build_model(recipe, context).to(device)
    objective = Objective.from_recipe(recipe, context).to(device)
    batches = [collate([labelled_graph(r, dataset.basis, None) for r in chunk], dtype, device) for chunk in records]
    optimizer = build_optimizer(model.parameters(), recipe.sections.train)  # what `hamkit train` uses
    return Contender(Path(recipe_path).stem + (" (compile)" if compiled else ""), model, batches,
                     lambda m, b: objective(m(b), targets_of(b))[0], optimizer)


def reference_contender(reference: str, dataset: object, records: list[list], lr: float,
                        dtype: torch.dtype, device: torch.device) -> Contender:
    """The reference QHNet at its own training sizes."""
    torch.manual_seed(0)
    model = reference_qhnet.build_reference(reference, device, dtype)
    batches = [reference_qhnet.reference_batch([reference_qhnet.reference_graph(r, dataset.basis) for r in chunk],
                                               dtype, device) for chunk in records]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)  # as the reference's training script
    return Contender(REFERENCE, model, batches,
                     lambda m, b: reference_qhnet.reference_loss(m(b), b), optimizer)


def build_contenders(args: argparse.Namespace, batches: int, only: int | None = None) -> list[Contender]:
    """The reference first, then every recipe's hamkit model, on the same records (``only``:
    build just the contender of that index)."""
    device = pick_device()
    dtype = getattr(torch, args.dtype)
    dataset, records = batch_records(args.data, args.batch_size, batches)
    lr = args.lr or load_recipe(args.recipes[0]).sections.train.lr
    makers = [lambda: reference_contender(args.reference, dataset, records, lr, dtype, device)] + [
        (lambda recipe=recipe, compiled=compiled:
         hamkit_contender(recipe, dataset, records, lr, dtype, device, compiled))
        for compiled in ((False, True) if args.compiled else (False,)) for recipe in args.recipes
    ]
    return [make() for index, make in enumerate(makers) if only is None or index == only]


def used_parameters(contender: Contender) -> tuple[int, int]:
    """(all parameters, parameters that receive a gradient in a training step)."""
    contender.optimizer.zero_grad(set_to_none=True)
    contender.loss(contender.model, contender.batches[0]).backward()
    parameters = list(contender.model.parameters())
    used = sum(p.numel() for p in parameters if p.grad is not None)
    contender.optimizer.zero_grad(set_to_none=True)
    return sum(p.numel() for p in parameters), used


def interleaved_times(contenders: list[Contender], steps: int, warmup: int) -> dict[str, dict]:
    """Median training-step seconds and inference ms/molecule, rounds interleaved."""
    device = pick_device()
    train: dict[str, list[float]] = {c.name: [] for c in contenders}
    infer: dict[str, list[float]] = {c.name: [] for c in contenders}
    losses: dict[str, float] = {}
    for step in range(warmup + steps):
        rotation = contenders[step % len(contenders):] + contenders[:step % len(contenders)]
        for contender in rotation:
            batch = contender.batches[step % len(contender.batches)]
            start = clock(device)
            losses[contender.name] = contender.train_step(batch)
            middle = clock(device)
            contender.infer(batch)
            end = clock(device)
            if step >= warmup:
                train[contender.name].append(middle - start)
                infer[contender.name].append(end - middle)
    size = len(contenders[0].batches[0].ptr) - 1
    return {
        c.name: {"train_step_s": statistics.median(train[c.name]),
                 "inference_ms_per_molecule": 1e3 * statistics.median(infer[c.name]) / size,
                 "final_loss": losses[c.name]}
        for c in contenders
    }


def peak_step_memory(args: argparse.Namespace, index: int) -> float:
    """Peak memory (MB) of training contender ``index`` alone in this process: the CUDA peak,
    else the growth of the peak resident set from before the model is built to the end of
    three training steps (parameters, optimizer state, batches, activations)."""
    torch.set_num_threads(args.threads)
    device = pick_device()
    reset_peak_rss()
    before = current_rss_mb()
    contender = build_contenders(args, 2, only=index)[0]
    for step in range(3):
        contender.train_step(contender.batches[step % 2])
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return high_water_rss_mb() - before


def compare(args: argparse.Namespace) -> dict:
    """Run the comparison; returns the rows and the machine."""
    torch.set_num_threads(args.threads)
    stood_in = reference_qhnet.install_stand_ins()
    contenders = build_contenders(args, max(1, min(args.steps, 8)))
    sizes = {c.name: used_parameters(c) for c in contenders}
    times = interleaved_times(contenders, args.steps, args.warmup)
    rows = []
    for index, contender in enumerate(contenders):
        memory = in_fresh_process(_memory_in_child, args, index)
        total, used = sizes[contender.name]
        rows.append({"model": contender.name, "parameters": total, "parameters_used": used,
                     "peak_memory_mb": memory, **times[contender.name]})
    reference = rows[0]
    for row in rows:
        for key in ("train_step_s", "inference_ms_per_molecule", "peak_memory_mb"):
            row[f"{key}_ratio"] = row[key] / reference[key] if reference[key] else float("nan")
    return {"machine": machine_info(), "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "stand_ins": stood_in, "rows": rows}


def _memory_in_child(args: argparse.Namespace, index: int) -> float:
    reference_qhnet.install_stand_ins()
    return peak_step_memory(args, index)


def print_table(result: dict) -> None:
    """Rows and ratios to the reference, one line per model."""
    machine, settings = result["machine"], result["settings"]
    print(f"# {machine['cpu']}, {machine['gpu'] or 'no GPU'}, torch {machine['torch']}, "
          f"{settings['threads']} thread(s), {settings['dtype']}, batch {settings['batch_size']} of "
          f"{settings['data']}, {settings['steps']} timed steps")
    if result["stand_ins"]:
        print(f"# pure-torch stand-ins for {', '.join(result['stand_ins'])} (not installed)")
    print(f"{'model':40s} {'params':>11s} {'used':>11s} {'step s':>8s} {'x ref':>6s} "
          f"{'infer ms/mol':>12s} {'x ref':>6s} {'mem MB':>8s} {'x ref':>6s} {'loss':>9s}")
    for row in result["rows"]:
        print(f"{row['model']:40s} {row['parameters']:11,d} {row['parameters_used']:11,d} "
              f"{row['train_step_s']:8.3f} {row['train_step_s_ratio']:6.2f} "
              f"{row['inference_ms_per_molecule']:12.2f} {row['inference_ms_per_molecule_ratio']:6.2f} "
              f"{row['peak_memory_mb']:8.0f} {row['peak_memory_mb_ratio']:6.2f} {row['final_loss']:9.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="checkout of divelab/AIRS (or the QHNet.py file)")
    parser.add_argument("--recipe", dest="recipes", action="append", default=None,
                        help="hamkit recipe(s) to compare (default: recipes/qhnet_reference_size.yaml)")
    parser.add_argument("--data", default="embedded:water", help="hamkit store (def2-SVP, elements H..F)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per model")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model first")
    parser.add_argument("--lr", type=float, default=None, help="default: the first recipe's")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--compiled", action="store_true",
                        help="also run every recipe with model.featurizer.compile=true (torch.compile; "
                        "the first warmup step compiles, for minutes)")
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    args.recipes = args.recipes or ["recipes/qhnet_reference_size.yaml"]
    started = time.perf_counter()
    result = compare(args)
    result["wall_s"] = time.perf_counter() - started
    print_table(result)
    if args.json:
        with atomic_file(args.json) as temporary:
            Path(temporary).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
