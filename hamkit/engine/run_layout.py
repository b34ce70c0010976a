"""The run directory: every file name, and the ``model_info.json`` schema, defined once.

``hamkit train --out RUN`` writes, and every other command reads::

    recipe.yaml          the resolved recipe (defaults filled in)
    environment.json     package versions and machine
    data.json            dataset provenance and split sizes
    model_info.json      basis, species, dtype, pair cutoff, largest training structure:
                         what predict needs without the dataset (:class:`ModelInfo`)
    checkpoints/         last.pt (resume), best.pt (best validation)
    .lock                held by the training process (one process per run directory)
    metrics.jsonl, train.csv, val.csv, tensorboard/
    test_metrics.json    the QH9 metrics on the test split
    plots/               learning_curves.png, orbital_energies.png

No other module spells these names: writers and readers go through :class:`RunLayout`, and
``model_info.json`` is written and read by :class:`ModelInfo` only, so its keys cannot drift
between the two. ``tests/engine/test_run_layout.py`` enforces both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hamkit.data.basis import OrbitalBasis
from hamkit.errors import HamkitError
from hamkit.safe_output import atomic_file

RECIPE_FILE = "recipe.yaml"
ENVIRONMENT_FILE = "environment.json"
DATA_FILE = "data.json"
MODEL_INFO_FILE = "model_info.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = f"{CHECKPOINT_DIR}/last.pt"
"""Written every ``train.checkpoint_every`` steps and at the end; what a resume continues."""
BEST_CHECKPOINT = f"{CHECKPOINT_DIR}/best.pt"
"""Written whenever validation improves; preferred for testing and prediction."""
LOCK_FILE = ".lock"
METRICS_FILE = "metrics.jsonl"
LOG_KINDS = ("train", "val")
"""The CSV logs, one per kind of row: ``train.csv`` and ``val.csv``."""
LOG_FILES = (METRICS_FILE, *(f"{kind}.csv" for kind in LOG_KINDS))
TENSORBOARD_DIR = "tensorboard"
TEST_METRICS_FILE = "test_metrics.json"
PLOTS_DIR = "plots"
LEARNING_CURVES_PLOT = f"{PLOTS_DIR}/learning_curves.png"
ORBITAL_ENERGIES_PLOT = f"{PLOTS_DIR}/orbital_energies.png"
CHECKPOINT_PREFERENCE = (BEST_CHECKPOINT, LAST_CHECKPOINT)
"""Checkpoints tried, in order, when a run directory stands for its model."""


@dataclass(frozen=True)
class RunLayout:
    """Where each file of one run directory lives.

    Attributes:
        root: The run directory (need not exist yet).
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def is_run_directory(self) -> bool:
        """``root`` holds a ``recipe.yaml``: it was written by ``hamkit train``."""
        return self.recipe.is_file()

    @property
    def recipe(self) -> Path:
        """The resolved recipe the run was trained with."""
        return self.root / RECIPE_FILE

    @property
    def environment(self) -> Path:
        """Package versions and machine of the run."""
        return self.root / ENVIRONMENT_FILE

    @property
    def data(self) -> Path:
        """Dataset provenance and split sizes."""
        return self.root / DATA_FILE

    @property
    def model_info(self) -> Path:
        """The :class:`ModelInfo` of the run."""
        return self.root / MODEL_INFO_FILE

    @property
    def checkpoints(self) -> Path:
        """The checkpoint folder."""
        return self.root / CHECKPOINT_DIR

    @property
    def last_checkpoint(self) -> Path:
        """The latest checkpoint (what a resume continues)."""
        return self.root / LAST_CHECKPOINT

    @property
    def best_checkpoint(self) -> Path:
        """The checkpoint of the best validation."""
        return self.root / BEST_CHECKPOINT

    @property
    def checkpoint_preference(self) -> tuple[Path, ...]:
        """Checkpoints a model is loaded from, in order of preference (best, then last)."""
        return tuple(self.root / name for name in CHECKPOINT_PREFERENCE)

    @property
    def lock(self) -> Path:
        """The lock file of the training process."""
        return self.root / LOCK_FILE

    @property
    def metrics(self) -> Path:
        """Training and validation rows as JSON lines."""
        return self.root / METRICS_FILE

    def csv_log(self, kind: str) -> Path:
        """The CSV log of one kind of row (``train.csv`` or ``val.csv``).

        Raises:
            ValueError: ``kind`` is not one of :data:`LOG_KINDS`.
        """
        if kind not in LOG_KINDS:
            raise ValueError(f"no CSV log for rows of kind {kind!r}; expected one of {LOG_KINDS}")
        return self.root / f"{kind}.csv"

    @property
    def log_files(self) -> tuple[Path, ...]:
        """``metrics.jsonl`` and the CSV logs: what a resume trims back to its checkpoint."""
        return tuple(self.root / name for name in LOG_FILES)

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files (written when ``tensorboard`` is installed)."""
        return self.root / TENSORBOARD_DIR

    @property
    def test_metrics(self) -> Path:
        """Metrics on the test split, written when the run finishes."""
        return self.root / TEST_METRICS_FILE

    @property
    def plots(self) -> Path:
        """The plot folder."""
        return self.root / PLOTS_DIR

    @property
    def learning_curves_plot(self) -> Path:
        """Training loss and validation H MAE against step."""
        return self.root / LEARNING_CURVES_PLOT

    @property
    def orbital_energies_plot(self) -> Path:
        """Predicted against reference orbital energies of the test structures."""
        return self.root / ORBITAL_ENERGIES_PLOT


DTYPES = ("float32", "float64")
REQUIRED_KEYS = ("basis", "species", "dtype")
"""Keys every ``model_info.json`` has had."""
OPTIONAL_KEYS = ("pair_cutoff", "largest_training_atoms")
"""Keys an older run may lack: read as None (pair cutoff: fully connected, as before; largest
training structure: unknown, so predict warns by a fixed size instead)."""


@dataclass(frozen=True)
class ModelInfo:
    """What rebuilding a trained model needs besides its recipe: ``model_info.json``.

    Attributes:
        basis: The orbital basis of the predictions.
        species: Atomic numbers the model was built for.
        dtype: Parameter dtype, ``"float32"`` or ``"float64"``.
        pair_cutoff: Pair cutoff of the graphs (Angstrom), None for fully connected.
        largest_training_atoms: Atoms of the largest training structure (None: not recorded).
    """

    basis: OrbitalBasis
    species: tuple[int, ...]
    dtype: str
    pair_cutoff: float | None = None
    largest_training_atoms: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to ``model_info.json`` (every key, nulls included)."""
        return {"basis": self.basis.to_dict(), "species": [int(z) for z in self.species],
                "dtype": self.dtype,
                "pair_cutoff": None if self.pair_cutoff is None else float(self.pair_cutoff),
                "largest_training_atoms": self.largest_training_atoms}

    @classmethod
    def from_json(cls, data: object, source: Path | str = MODEL_INFO_FILE) -> ModelInfo:
        """Inverse of :meth:`to_json`, checking every value.

        Args:
            data: The parsed JSON.
            source: The file it came from, named in errors.

        Raises:
            HamkitError: Not an object, a required key missing, or a value of the wrong kind.
        """
        if not isinstance(data, Mapping):
            raise HamkitError(f"{source}: model info is not a JSON object but {type(data).__name__}")
        missing = [key for key in REQUIRED_KEYS if key not in data]
        if missing:
            raise HamkitError(
                f"{source}: model info lacks {', '.join(repr(key) for key in missing)} (it needs "
                f"{', '.join(REQUIRED_KEYS)}); the file is damaged or was not written by 'hamkit train'"
            )
        try:
            basis = OrbitalBasis.from_dict(data["basis"])
            species = tuple(int(z) for z in data["species"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise HamkitError(f"{source}: unreadable model info ({type(error).__name__}: {error})") from None
        dtype = str(data["dtype"])
        if dtype not in DTYPES:
            raise HamkitError(f"{source}: dtype {dtype!r} is not float32 or float64")
        return cls(basis=basis, species=species, dtype=dtype,
                   pair_cutoff=_optional_cutoff(data.get("pair_cutoff"), source),
                   largest_training_atoms=_optional_count(data.get("largest_training_atoms"), source))

    def write(self, path: Path) -> None:
        """Write ``model_info.json`` atomically."""
        with atomic_file(path) as temporary:
            temporary.write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def read(cls, path: Path) -> ModelInfo:
        """Read and check ``model_info.json``.

        Raises:
            HamkitError: The file is missing, is not JSON, or fails :meth:`from_json`.
        """
        if not path.is_file():
            raise HamkitError(
                f"{path}: no such file: the model info of the run (basis, species, dtype); the run "
                "directory is incomplete or was not written by 'hamkit train'"
            )
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HamkitError(f"{path}: unreadable model info ({type(error).__name__}: {error})") from None
        return cls.from_json(data, path)


def _optional_cutoff(value: object, source: Path | str) -> float | None:
    """A positive cutoff in Angstrom, or None (fully connected graphs, or an older run)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise HamkitError(f"{source}: pair_cutoff must be a positive number or null, got {value!r}")
    return float(value)


def _optional_count(value: object, source: Path | str) -> int | None:
    """A positive atom count, or None when absent (runs before it was recorded)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HamkitError(f"{source}: largest_training_atoms must be a positive integer, got {value!r}")
    return value
