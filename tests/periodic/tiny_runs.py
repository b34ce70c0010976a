"""Recipe overrides that make a deeph_e3 run tiny enough for an end-to-end test."""

from __future__ import annotations


def tiny_deeph_e3_overrides(steps: int) -> list[str]:
    """``--set`` overrides: a one-block deeph_e3 (3 A), float64 on CPU, ``steps`` steps of batch 2,
    half-and-half train/val+test split, validation and checkpoints twice per run."""
    return [
        "data.split={kind: random, train: 0.5, val: 0.25, test: 0.25, seed: 0}",
        "model.featurizer.node_irreps=4x0e+2x1o+2x2e", "model.featurizer.num_radial=8",
        "model.featurizer.radial_hidden=8", "model.featurizer.num_blocks=1", "model.featurizer.cutoff=3.0",
        f"train.steps={steps}", "train.batch_size=2", f"train.warmup_steps={max(1, steps // 10)}",
        f"train.eval_every={steps // 2}", f"train.checkpoint_every={steps // 2}", "train.dtype=float64",
        "train.device=cpu",
    ]
