"""Running every (variant, seed) of an ablation as a hamkit run, resumably, in parallel if asked."""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

from hamkit.engine.run_layout import RunLayout
from hamkit.engine.trainer import Callback, Trainer
from hamkit.safe_output import atomic_file

RUN_INFO = "ablation_run.json"
"""Per-run facts the report needs that the engine does not write (peak memory, timing)."""


class WallTimeLimit(Callback):
    """Stops training once its training time (resumes included) exceeds ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if trainer.state.seconds >= self.seconds and not trainer.stop_reason:
            trainer.stop(f"wall-time budget of {self.seconds:g} s reached")


@dataclass(frozen=True)
class Job:
    """One run: the ablation file, its command-line overrides, and which variant and seed."""

    ablation: str
    extra: tuple[str, ...]
    variant: str
    seed: int
    run_dir: str


def run_dir_of(out: Path, variant: str, seed: int) -> Path:
    return out / variant / f"seed{seed}"


def is_finished(run_dir: Path) -> bool:
    return RunLayout(run_dir).test_metrics.is_file()


def _peak_memory_bytes() -> int:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def run_job(job: Job) -> str:
    """Train, resume or skip one run; returns what happened (``done``, ``resumed``, ``skipped``)."""
    import torch

    from hamkit.ablation.spec import load_ablation
    from hamkit.engine.run import run_training

    run_dir = Path(job.run_dir)
    if is_finished(run_dir):
        return "skipped"
    ablation = load_ablation(job.ablation, job.extra)
    recipe = ablation.recipe(job.variant, job.seed)
    resume = RunLayout(run_dir).last_checkpoint.is_file()
    callbacks = []
    if ablation.spec.budget.seconds is not None:
        callbacks.append(WallTimeLimit(ablation.spec.budget.seconds))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = run_training(recipe, run_dir, resume=resume, show_progress=False, extra_callbacks=callbacks)
    loop = result.loop
    info = {
        "variant": job.variant, "seed": job.seed, "steps": loop.step, "seconds": loop.seconds,
        "step_time": loop.seconds / max(loop.step, 1), "n_parameters": result.n_parameters,
        "peak_memory_bytes": _peak_memory_bytes(),
        "peak_memory_kind": "cuda_max_allocated" if torch.cuda.is_available() else "process_maxrss",
        "resumed": resume,
    }
    with atomic_file(run_dir / RUN_INFO) as temporary:
        temporary.write_text(json.dumps(info, indent=2))
    return "resumed" if resume else "done"


def run_all(jobs: list[Job], workers: int = 1, report=print) -> dict[tuple[str, int], str]:
    """Run the jobs; finished ones are skipped. ``workers > 1``: a spawn pool, one fresh process per run.

    With one worker the runs share this process, so a CPU run's recorded peak memory (maxrss) is
    the process high-water mark so far; use ``--workers`` >= 2 for per-run CPU peaks.
    """
    outcome: dict[tuple[str, int], str] = {}
    todo = []
    for job in jobs:
        if is_finished(Path(job.run_dir)):
            outcome[(job.variant, job.seed)] = "skipped"
            report(f"{job.variant} seed {job.seed}: finished, skipped")
        else:
            todo.append(job)
    if workers <= 1:
        for job in todo:
            report(f"{job.variant} seed {job.seed}: training in {job.run_dir}")
            outcome[(job.variant, job.seed)] = run_job(job)
        return outcome
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=workers, maxtasksperchild=1) as pool:
        for job, result in zip(todo, pool.imap(run_job, todo)):
            outcome[(job.variant, job.seed)] = result
            report(f"{job.variant} seed {job.seed}: {result}")
    return outcome
