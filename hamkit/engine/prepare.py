"""From a resolved recipe to a dataset, its build context, splits and graphs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

from hamkit.components import BuildContext, Dataset
from hamkit.data.graph import labelled_graph
from hamkit.engine.progress import track
from hamkit.engine.splits import make_split
from hamkit.errors import HamkitError
from hamkit.model.baseline import mean_onsite_blocks
from hamkit.recipe import ResolvedRecipe


@dataclass
class PreparedData:
    """The recipe's data, split.

    Attributes:
        dataset: The dataset component.
        splits: Index arrays for ``train``, ``val``, ``test``.
    """

    dataset: Dataset
    splits: dict[str, np.ndarray]


def open_dataset(recipe: ResolvedRecipe) -> Dataset:
    """Build the recipe's dataset component."""
    entry = recipe.component("data", "dataset")
    return entry.record.cls.from_config(entry.config, BuildContext())


def prepare_data(recipe: ResolvedRecipe) -> PreparedData:
    """Open the dataset and split it as the recipe says."""
    dataset = open_dataset(recipe)
    sizes = [record.structure.n_atoms for record in dataset]
    return PreparedData(dataset, make_split(sizes, recipe.sections.data.split))


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
