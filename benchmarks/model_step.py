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
import json
import platform

import torch

from hamkit.bench.timing import in_fresh_process, peak_rss_mb, step_time  # noqa: F401 - the logic lives in hamkit.bench


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
        rows.append(in_fresh_process(step_time, *job))
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
