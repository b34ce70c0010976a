"""The recipe's own structure (validation pass 1).

Component entries (``{name: ..., <options>}``) are only checked for a ``name``
here; their options are validated against each component's Config in pass 2
(:mod:`hamkit.recipe.components`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentEntry(BaseModel):
    """A component choice: its registered ``name`` plus its options."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Registered component name (see `hamkit plugins list`).")

    def options(self) -> dict:
        """The options given besides ``name``."""
        return dict(self.model_extra or {})


class LossTerm(ComponentEntry):
    """One weighted term of the loss."""

    weight: float = Field(1.0, ge=0.0, description="Multiplier of this term in the total loss.")


class SplitSection(_Section):
    """How structures are split into train/validation/test; no structure is in two splits."""

    kind: Literal["random", "index_file", "size_ood"] = Field(
        "random", description="random (seeded), index_file (JSON lists), size_ood (by atom count)."
    )
    train: float = Field(0.8, gt=0.0, le=1.0, description="Fraction of structures for training.")
    val: float = Field(0.1, ge=0.0, lt=1.0, description="Fraction for validation.")
    test: float = Field(0.1, ge=0.0, lt=1.0, description="Fraction for testing.")
    seed: int = Field(0, description="Seed of the random split.")
    index_file: Path | None = Field(
        None, description="JSON file with 'train', 'val', 'test' index lists (kind: index_file)."
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
    induce_after_blocks: bool = Field(
        True,
        description="Also apply the encoder + inducer after each backbone block, where the "
        "featurizer exposes blocks (TraceGrad as in the paper); false: on the output only.",
    )


class TrainSection(_Section):
    """Training budget and numerics."""

    steps: int = Field(gt=0, description="Optimizer steps.")
    batch_size: int = Field(gt=0, description="Structures per batch.")
    lr: float = Field(gt=0.0, description="Peak learning rate.")
    seed: int = Field(0, description="Seed of initialization and data order.")
    dtype: Literal["float32", "float64"] = Field("float32", description="Parameter dtype.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto picks cuda when available, else cpu."
    )
    checkpoint_every: int = Field(
        0, ge=0, description="Write a checkpoint every N steps (0: only at the end)."
    )
    eval_every: int = Field(0, ge=0, description="Validate every N steps (0: only at the end).")


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
