"""From a resolved recipe to a dataset, its build context, splits and graphs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from rich.console import Console
from torch_geometric.data import Data

from hamkit.components import BuildContext, Dataset
from hamkit.data.geometry_checks import check_structure
from hamkit.data.graph import labelled_graph
from hamkit.engine.progress import track
from hamkit.engine.splits import make_split, split_size_problems
from hamkit.errors import HamkitError
from hamkit.model.baseline import mean_onsite_blocks
from hamkit.recipe import ResolvedRecipe


@dataclass
class PreparedData:
    """The recipe's data, split.

    Attributes:
        dataset: The dataset component.
        splits: Index arrays for ``train``, ``val``, ``test``.
        sizes: Atom count of every record, shape (n_records,).
        warnings: Problems of the split that do not stop training (an empty test set,
            a batch larger than the training set, ...), each naming the recipe; see
            :func:`report_warnings`.
    """

    dataset: Dataset
    splits: dict[str, np.ndarray]
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    warnings: list[str] = field(default_factory=list)

    @property
    def largest_training_atoms(self) -> int | None:
        """Atoms of the largest training structure (None when sizes are unknown)."""
        train = self.splits.get("train", np.zeros(0, dtype=np.int64))
        if len(self.sizes) == 0 or len(train) == 0:
            return None
        return int(self.sizes[np.asarray(train, dtype=np.int64)].max())


def open_dataset(recipe: ResolvedRecipe) -> Dataset:
    """Build the recipe's dataset component."""
    entry = recipe.component("data", "dataset")
    return entry.record.cls.from_config(entry.config, BuildContext())


def dataset_label(recipe: ResolvedRecipe) -> str:
    """The recipe's dataset as messages name it: its ``path`` option, else its component name."""
    entry = recipe.component("data", "dataset")
    path = getattr(entry.config, "path", None)
    return str(path) if path is not None else f"dataset '{entry.record.name}'"


def prepare_data(recipe: ResolvedRecipe) -> PreparedData:
    """Open the dataset, check every record's geometry, and split it as the recipe says.

    Returns:
        The data, its split, and the split's warnings (not printed; see
        :func:`report_warnings`).

    Raises:
        HamkitError: A record with bad geometry (naming the dataset file and record; see
            :func:`hamkit.data.geometry_checks.check_geometry`), or a split without training
            structures.
    """
    dataset = open_dataset(recipe)
    label = dataset_label(recipe)
    sizes = []
    for index, record in enumerate(dataset):
        check_structure(record.structure, f"{label}: record {record.key or index!r} (index {index})")
        sizes.append(record.structure.n_atoms)
    splits = make_split(sizes, recipe.sections.data.split)
    warnings = split_size_problems(splits, recipe.sections.train, str(recipe.source), len(sizes))
    return PreparedData(dataset, splits, np.asarray(sizes, dtype=np.int64), warnings)


def report_warnings(warnings: Sequence[str], console: Console | None = None) -> None:
    """Print each warning as ``warning: ...`` (yellow, on stderr unless a console is given)."""
    if not warnings:
        return
    console = console or Console(stderr=True, soft_wrap=True)
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)


def build_context(dataset: Dataset, dtype: str, train_indices: Sequence[int] | None = None) -> BuildContext:
    """What the data decides for the model: species, basis, dtype, and training statistics.

    Args:
        dataset: The dataset.
        dtype: Parameter dtype name.
        train_indices: Records the statistics come from (none: no statistics).
    """
    statistics = {}
    if train_indices is not None:
        records = (dataset[int(i)] for i in train_indices)
        statistics["onsite_mean"] = mean_onsite_blocks(records, dataset.basis)
    return BuildContext(species=tuple(dataset.basis.elements), basis=dataset.basis, dtype=dtype,
                        statistics=statistics)


def make_graphs(dataset: Dataset, indices: Sequence[int], cutoff: float | None, label: str) -> list[Data]:
    """Labelled graphs of the given records, with a progress bar."""
    return [
        labelled_graph(dataset[int(index)], dataset.basis, cutoff)
        for index in track(indices, f"building {label} graphs")
    ]


class LazyGraphs(torch.utils.data.Dataset):
    """Graphs built on demand (in DataLoader workers), for data too large to keep in memory.

    Args:
        dataset: The dataset component (must be picklable for worker processes).
        indices: Record indices, in graph order.
        cutoff: Pair cutoff in Angstrom (None: all pairs).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int], cutoff: float | None) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.cutoff = cutoff

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> Data:
        return labelled_graph(self.dataset[self.indices[position]], self.dataset.basis, self.cutoff)


def open_dataset_file(path: str, format_name: str = "hamkit", limit: int | None = None) -> Dataset:
    """The dataset component ``format_name`` on ``path`` (e.g. ``embedded:qm9_mini``).

    Args:
        path: The file or folder (the component's ``path`` option).
        format_name: A registered dataset name.
        limit: Use only the first N records, when the component has a ``limit`` option.

    Raises:
        HamkitError: Unknown format (with a suggestion), a component without a ``path``
            option, or invalid options.
    """
    from pydantic import ValidationError

    from hamkit.plugin_host import get_host

    record = get_host().registry.get("dataset", format_name)
    fields = record.config_class.model_fields
    if "path" not in fields:
        raise HamkitError(f"dataset '{format_name}' has no 'path' option: it cannot open a file "
                          "given on the command line")
    options: dict = {"path": path}
    if limit is not None and "limit" in fields:
        options["limit"] = limit
    try:
        config = record.config_class(**options)
    except ValidationError as error:
        raise HamkitError(f"dataset '{format_name}': invalid options {options}: {error}") from None
    return record.cls.from_config(config, BuildContext())
