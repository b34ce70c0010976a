"""The recipe's own structure (validation pass 1).

Component entries (``{name: ..., <options>}``) are only checked for a ``name``
here; their options are validated against each component's Config in pass 2
(:mod:`hamkit.recipe.components`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hamkit.recipe.bounds import BatchCount, Probability, Seed, StepCount


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ComponentEntry(BaseModel):
    """A component choice: its registered ``name`` plus its options."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Registered component name (see `hamkit plugins list`).")

    def options(self) -> dict:
        """The options given besides ``name``."""
        return dict(self.model_extra or {})


class LossTerm(ComponentEntry):
    """One weighted term of the loss."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    weight: float = Field(1.0, ge=0.0, description="Multiplier of this term in the total loss.")


class SplitSection(_Section):
    """How structures are split into train/validation/test; no structure is in two splits."""

    kind: Literal["random", "index_file", "size_ood"] = Field(
        default="random", description="random (seeded), index_file (JSON lists), size_ood (by atom count)."
    )
    train: float = Field(default=0.8, gt=0.0, le=1.0, description="Fraction of structures for training.")
    val: float = Field(default=0.1, ge=0.0, lt=1.0, description="Fraction for validation.")
    test: float = Field(default=0.1, ge=0.0, lt=1.0, description="Fraction for testing.")
    seed: Seed = Field(default=0, description="Seed of the random split.")
    index_file: Path | None = Field(
        default=None, description="JSON file with 'train', 'val', 'test' index lists (kind: index_file)."
    )

    @model_validator(mode="after")
    def _fractions_and_file(self) -> "SplitSection":
        if self.train + self.val + self.test > 1.0 + 1e-9:
            raise ValueError(
                f"train + val + test = {self.train + self.val + self.test:g} exceeds 1"
            )
        if self.kind == "index_file" and self.index_file is None:
            raise ValueError("kind 'index_file' needs index_file: PATH")
        return self


class DataSection(_Section):
    """Which data to train on, and how to split it."""

    dataset: ComponentEntry = Field(description="The dataset reader and its options.")
    split: SplitSection = Field(default_factory=SplitSection)
    stream: Literal["auto"] | bool = Field(
        "auto",
        description="Build graphs on demand instead of holding every graph in memory (large data; "
        "same results). auto: when train.num_workers > 0 or beyond 20000 structures.",
    )


class ModelSection(_Section):
    """The assembled model: backbone, TraceGrad modules (optional) and head."""

    featurizer: ComponentEntry = Field(description="Equivariant backbone.")
    invariant_encoder: ComponentEntry | None = Field(
        None, description="Invariant encoder (TraceGrad's trace_mlp); omit for a base model."
    )
    inducer: ComponentEntry = Field(
        default_factory=lambda: ComponentEntry(name="none"),
        description="Equivariance inducer (TraceGrad's gradient; none for a base model).",
    )
    head: ComponentEntry = Field(description="Hamiltonian head.")
    onsite_baseline: bool = Field(
        True,
        description="Add each element's mean on-site block (its rotation-invariant part, from "
        "the training set) to the prediction, so the network learns the residual.",
    )
    induce_after_blocks: bool = Field(
        True,
        description="Also apply the encoder + inducer after each backbone block, where the "
        "featurizer exposes blocks (TraceGrad as in the paper); false: on the output only.",
    )


class TrainSection(_Section):
    """Training budget and numerics."""

    steps: StepCount = Field(gt=0, description="Optimizer steps.")
    batch_size: BatchCount = Field(gt=0, description="Structures per batch.")
    lr: float = Field(gt=0.0, description="Peak learning rate.")
    seed: Seed = Field(0, description="Seed of initialization and data order.")
    dtype: Literal["float32", "float64"] = Field("float32", description="Parameter dtype.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto picks cuda when available, else cpu."
    )
    checkpoint_every: StepCount = Field(
        0, ge=0, description="Write a checkpoint every N steps (0: only at the end)."
    )
    eval_every: StepCount = Field(0, ge=0, description="Validate every N steps (0: only at the end).")
    optimizer: Literal["adamw", "adam"] = Field("adamw", description="Optimizer.")
    betas: tuple[Probability, Probability] = Field(
        (0.9, 0.999), description="Adam betas, each in [0, 1) (QHNet: 0.99, 0.999)."
    )
    weight_decay: float = Field(0.0, ge=0.0, description="Decoupled weight decay (adamw).")
    schedule: Literal["constant", "linear", "cosine", "plateau"] = Field(
        "cosine", description="Learning-rate decay after warmup; plateau halves on stalled validation."
    )
    warmup_steps: StepCount = Field(0, ge=0, description="Linear warmup from 0 to lr.")
    min_lr_ratio: float = Field(0.0, ge=0.0, le=1.0, description="Final lr / peak lr (linear, cosine).")
    plateau_factor: float = Field(0.5, gt=0.0, lt=1.0, description="lr multiplier when validation stalls.")
    plateau_patience: StepCount = Field(
        2, ge=0, description="Validations without improvement before lowering lr."
    )
    clip_grad_norm: float | None = Field(10.0, gt=0.0, description="Gradient norm clip (null: off).")
    ema_decay: float | None = Field(
        None, gt=0.0, lt=1.0, description="EMA of the weights used for evaluation (QHNet: 0.99; null: off)."
    )
    ema_start: StepCount = Field(
        0, ge=0, description="Steps before the EMA starts averaging (it starts from the weights of that "
        "step; until then the raw weights are evaluated)."
    )
    accumulate: BatchCount = Field(1, ge=1, description="Batches per optimizer step (gradient accumulation).")
    early_stopping: StepCount | None = Field(
        None, ge=1, description="Stop after N validations without improvement (null: never)."
    )
    max_bad_steps: StepCount = Field(
        5, ge=1, description="Consecutive non-finite losses/gradients tolerated before stopping."
    )
    log_every: StepCount = Field(10, ge=1, description="Write a metrics line every N steps.")
    num_workers: int = Field(
        0, ge=0, le=1024,
        description="0: batches are made in the training process; N > 0: N DataLoader worker "
        "processes make them (with data.stream, they also build the graphs; pinned memory on GPU).",
    )
    autocast: Literal["none", "bf16"] = Field(
        "none", description="bf16 autocast of the forward pass (for GPUs; parameters stay in dtype)."
    )
    threads: int | None = Field(
        None, ge=1, le=1024,
        description="CPU threads of torch (null: automatic: 1 for small structures, else the idle "
        "cores; OMP_NUM_THREADS is respected).",
    )


class RecipeSections(_Section):
    """A whole recipe after ``extends`` and ``--set`` are applied."""

    description: str = Field("", description="What this recipe is for.")
    data: DataSection
    model: ModelSection
    loss: list[LossTerm] = Field(min_length=1, description="Weighted list of loss terms.")
    train: TrainSection


COMPONENT_KIND_OF_PATH: dict[tuple[str, ...], str] = {
    ("data", "dataset"): "dataset",
    ("model", "featurizer"): "featurizer",
    ("model", "invariant_encoder"): "invariant_encoder",
    ("model", "inducer"): "inducer",
    ("model", "head"): "head",
}
"""Where single component entries live in a recipe, and their kind (losses are a list)."""
