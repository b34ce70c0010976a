"""Inference time of a trained model per molecule next to the PySCF SCF it replaces.

Usage:
    python benchmarks/inference_vs_scf.py RUN_DIR_OR_CKPT [--data embedded:qm9_mini]
        [--count 5] [--repeats 5] [--xc b3lyp] [--device cpu] [--json out.json]

For ``--count`` molecules of the data (spread over its sizes: smallest to largest), it
times

* inference: graph + model forward (one molecule per batch) + PySCF overlap + the
  generalized eigensolve ``H C = S C eps``; the median over ``--repeats`` after one
  warm-up, split into forward / overlap / eigensolve;
* SCF: one PySCF RKS run (``--xc``, the model's basis, default grids, conv_tol 1e-9) from
  the default 'minao' guess, wall time and cycles.

and prints the speed-up ``SCF time / inference time``. The model's basis must cover the
molecules' elements (train on the same data, e.g. ``embedded:qm9_mini``). Both run in this
process with the threads torch and PySCF see (``OMP_NUM_THREADS``); a model on ``cuda``
is synchronized before each clock read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

import torch

import hamkit  # noqa: F401 - before e3nn

from hamkit.bench import scf as _scf
from hamkit.bench.scf import inference_seconds, pick_molecules  # noqa: F401 - the logic lives in hamkit.bench
from hamkit.engine.restore import TrainedModel, load_trained_model


def scf_seconds(trained: TrainedModel, item, xc: str) -> dict:
    """Wall seconds and cycles of one PySCF RKS run from the 'minao' guess."""
    return _scf.scf_seconds(item.structure, trained.basis, xc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", metavar="RUN_DIR_OR_CKPT")
    parser.add_argument("--data", default="embedded:qm9_mini", help="hamkit store or embedded:<name>.")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--xc", default="b3lyp")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()

    trained = load_trained_model(args.model, args.device)
    n_parameters = sum(p.numel() for p in trained.model.parameters())
    print(f"model: {trained.run_dir} ({trained.checkpoint.name}), {n_parameters:,} parameters, "
          f"{str(trained.dtype).removeprefix('torch.')}, {trained.device}; torch threads "
          f"{torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"SCF: PySCF RKS {args.xc}/{trained.basis.name} from minao, conv_tol 1e-9\n")
    header = (f"{'molecule':<22}{'atoms':>6}{'orbitals':>9}{'forward ms':>12}{'S ms':>8}{'eig ms':>8}"
              f"{'infer ms':>10}{'SCF s':>8}{'cycles':>7}{'speed-up':>10}")
    print(header)
    rows = []
    for item in pick_molecules(args.data, args.count):
        inference = inference_seconds(trained, item, args.repeats)
        scf = scf_seconds(trained, item, args.xc)
        n_orbitals = trained.basis.total_orbitals(item.structure.numbers)
        speedup = scf["seconds"] / inference["total"]
        rows.append({"molecule": item.name, "atoms": item.structure.n_atoms, "orbitals": n_orbitals,
                     "inference_s": inference, "scf": scf, "speedup": speedup})
        print(f"{item.name[:21]:<22}{item.structure.n_atoms:>6}{n_orbitals:>9}"
              f"{inference['forward'] * 1e3:>12.1f}{inference['overlap'] * 1e3:>8.1f}"
              f"{inference['eigensolve'] * 1e3:>8.1f}{inference['total'] * 1e3:>10.1f}"
              f"{scf['seconds']:>8.2f}{scf['cycles']:>7}{speedup:>10.0f}x")
    total_inference = sum(row["inference_s"]["total"] for row in rows)
    total_scf = sum(row["scf"]["seconds"] for row in rows)
    print(f"\nall {len(rows)}: inference {total_inference * 1e3:.0f} ms, SCF {total_scf:.1f} s, "
          f"speed-up {total_scf / total_inference:.0f}x (median per molecule "
          f"{statistics.median(row['speedup'] for row in rows):.0f}x)")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": platform.platform(), "threads": torch.get_num_threads(),
                       "device": str(trained.device), "rows": rows}, handle, indent=2)


if __name__ == "__main__":
    main()
