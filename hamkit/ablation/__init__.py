"""Ablation studies: variants of a base recipe x seeds, under one budget, with a results report.

Typical use::

    hamkit ablate recipes/ablations/tracegrad_decomposition.yaml --seeds 2 --out ablations/decomp
"""

from __future__ import annotations

from hamkit.ablation.report import write_reports
from hamkit.ablation.runner import Job, WallTimeLimit, run_all, run_dir_of
from hamkit.ablation.spec import Ablation, AblationModel, load_ablation, validate_variants

__all__ = ["Ablation", "AblationModel", "Job", "WallTimeLimit", "load_ablation", "run_all", "run_dir_of",
           "validate_variants", "write_reports"]
