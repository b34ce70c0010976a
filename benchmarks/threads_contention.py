"""Training throughput with 1 or N torch threads, alone and beside a second training job.

Usage:
    python benchmarks/threads_contention.py [RECIPE] [--steps 150] [--threads 1,2] [--json out.json]

For each thread count T, the quick-start recipe (default) trains ``steps`` steps in a
fresh process (a) alone and (b) while a second ``hamkit train`` of the same recipe, also
with T threads, runs beside it (the situation of two users, or an ablation with two
workers, on one machine). Prints structures/s of the measured run for each case; only
ratios measured in one invocation mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _train_command(recipe: str, out: Path, steps: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "hamkit.cli.main", "train", recipe, "--out", str(out), "--no-progress",
            "--set", f"train.steps={steps}", "--set", f"train.threads={threads}", "--set", "train.eval_every=0"]


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("OMP_NUM_THREADS", None)  # the recipe's train.threads decides
    return environment


def measure(recipe: str, steps: int, threads: int, beside: bool, folder: Path) -> float:
    """Structures/s of one training run (read from its test_metrics.json and logs)."""
    competitor = None
    if beside:
        competitor = subprocess.Popen(_train_command(recipe, folder / f"competitor-{threads}", 100_000, threads),
                                      env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(15)  # let it reach its training loop
    out = folder / f"run-{threads}-{'beside' if beside else 'alone'}"
    try:
        subprocess.run(_train_command(recipe, out, steps, threads), env=_environment(), check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        if competitor is not None:
            competitor.terminate()
            competitor.wait()
    rows = (out / "train.csv").read_text().splitlines()
    header = rows[0].split(",")
    return float(rows[-1].split(",")[header.index("structures_per_second")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", default=str(REPO / "recipes" / "quickstart.yaml"))
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for threads in map(int, args.threads.split(",")):
            for beside in (False, True):
                rate = measure(args.recipe, args.steps, threads, beside, Path(folder))
                results.append({"threads": threads, "beside_second_job": beside, "structures_per_second": rate})
                print(f"threads {threads}, {'beside a second job' if beside else 'alone':>20}: "
                      f"{rate:8.1f} structures/s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
