"""From a resolved recipe to a dataset, its build context, splits and graphs.

Preparation scales to datasets far larger than memory: the geometry checks and the atom
counts read only each record's atoms (:meth:`hamkit.components.Dataset.key_and_structure`),
the on-site statistics average over at most :data:`ONSITE_STATISTICS_RECORDS` training
records, and a *streaming* run (:func:`choose_streaming`) builds its graphs on demand
(:class:`LazyGraphs`, :class:`RecordGraphs`) instead of keeping every graph in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, overload

import numpy as np
import torch
from rich.console import Console
from torch_geometric.data import Data

from hamkit.components import BuildContext, ComponentConfig, Dataset
from hamkit.data.geometry_checks import check_structure
from hamkit.data.graph import labelled_graph
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.engine.progress import track
from hamkit.engine.splits import make_split, split_size_problems
from hamkit.errors import HamkitError
from hamkit.model.baseline import mean_onsite_blocks
from hamkit.recipe import ResolvedRecipe
from hamkit.registry import ComponentRecord

ONSITE_STATISTICS_RECORDS = 2000
"""Most training records the on-site baseline (:func:`hamkit.model.baseline.mean_onsite_blocks`)
averages over. A larger training split is sampled (seeded by ``train.seed``); a smaller one
is used whole, in split order, so small datasets give the same statistics as before. The
mean of 2000 molecules has a standard error of 1/sqrt(2000) ~ 2% of the molecule-to-molecule
spread (the baseline only removes the large constant part; the network learns the rest),
and reading 2000 QH9 records takes seconds, where all 130k take many minutes."""

STREAM_AUTO_STRUCTURES = 20_000
"""``data.stream: auto`` streams datasets with more structures than this. In-memory graphs
cost the packed H and S of every structure (plus pairs and traces): ~0.2 MB for a 9-atom
def2-SVP molecule, ~1 MB for QH9's largest (29 atoms), so 20k molecules hold GBs."""


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
        streaming: Graphs are built on demand, never all held (:func:`choose_streaming`).
    """

    dataset: Dataset
    splits: dict[str, np.ndarray]
    sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    warnings: list[str] = field(default_factory=list)
    streaming: bool = False

    @property
    def largest_training_atoms(self) -> int | None:
        """Atoms of the largest training structure (None when sizes are unknown)."""
        train = self.splits.get("train", np.zeros(0, dtype=np.int64))
        if len(self.sizes) == 0 or len(train) == 0:
            return None
        return int(self.sizes[np.asarray(train, dtype=np.int64)].max())


ItemT_co = TypeVar("ItemT_co", covariant=True)


class Indexed(Protocol[ItemT_co]):
    """A sized collection read by position: a list, or items built when read
    (:class:`LazyGraphs`, :class:`RecordGraphs`)."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int, /) -> ItemT_co: ...


def build_dataset(record: ComponentRecord, config: ComponentConfig) -> Dataset:
    """Build a registered dataset component from its validated options.

    Raises:
        HamkitError: Its ``from_config`` built something that is not a
            :class:`~hamkit.components.Dataset`.
    """
    dataset = record.cls.from_config(config, BuildContext())
    if not isinstance(dataset, Dataset):
        raise HamkitError(f"dataset '{record.name}' ({record.provider}) built a {type(dataset).__name__}, "
                          "not a hamkit.components.Dataset")
    return dataset


def open_dataset(recipe: ResolvedRecipe) -> Dataset:
    """Build the recipe's dataset component."""
    entry = recipe.required_component("data", "dataset")
    return build_dataset(entry.record, entry.config)


def dataset_label(recipe: ResolvedRecipe) -> str:
    """The recipe's dataset as messages name it: its ``path`` option, else its component name."""
    entry = recipe.required_component("data", "dataset")
    path = getattr(entry.config, "path", None)
    return str(path) if path is not None else f"dataset '{entry.record.name}'"


def prepare_data(recipe: ResolvedRecipe, progress: bool = False) -> PreparedData:
    """Open the dataset, check every record's geometry, and split it as the recipe says.

    Only the atoms of each record are read (no matrices, where the dataset can skip them).

    Args:
        recipe: The resolved recipe.
        progress: Draw a progress bar over the checks (on stdout).

    Returns:
        The data, its split, whether the run streams, and the split's warnings (not
        printed; see :func:`report_warnings`).

    Raises:
        HamkitError: A record with bad geometry (naming the dataset file and record; see
            :func:`hamkit.data.geometry_checks.check_geometry`), or a split without training
            structures.
    """
    dataset = open_dataset(recipe)
    sizes = checked_sizes(dataset, dataset_label(recipe), progress)
    splits = make_split(sizes, recipe.sections.data.split)
    warnings = split_size_problems(splits, recipe.sections.train, str(recipe.source), len(sizes))
    streaming = choose_streaming(recipe, len(sizes))
    if streaming and recipe.sections.data.stream == "auto" and recipe.sections.train.num_workers == 0:
        warnings.append(f"{recipe.source}: {len(sizes)} structures are more than {STREAM_AUTO_STRUCTURES}, "
                        "so graphs are built on demand (data.stream: auto) in the training process; "
                        "set train.num_workers (e.g. 4) to build them in parallel")
    return PreparedData(dataset, splits, sizes, warnings, streaming)


def choose_streaming(recipe: ResolvedRecipe, n_structures: int) -> bool:
    """Whether the run builds its graphs on demand (``data.stream``).

    ``true``/``false`` decide; ``auto`` streams when DataLoader workers build the graphs
    (``train.num_workers > 0``) or when there are more than :data:`STREAM_AUTO_STRUCTURES`
    structures. Streaming changes memory, never results.

    Args:
        recipe: The resolved recipe.
        n_structures: Structures in the dataset.
    """
    stream = recipe.sections.data.stream
    if stream != "auto":
        return bool(stream)
    return recipe.sections.train.num_workers > 0 or n_structures > STREAM_AUTO_STRUCTURES


def key_and_structure(dataset: Sequence, index: int) -> tuple[str | None, Structure]:
    """The key and atoms of record ``index`` without its matrices where the dataset allows.

    Datasets implement :meth:`hamkit.components.Dataset.key_and_structure`; any other
    sequence of records (e.g. a list) is read whole.
    """
    if isinstance(dataset, Dataset):
        return dataset.key_and_structure(index)
    record = dataset[index]
    return record.key, record.structure


def checked_sizes(dataset: Sequence, label: str, progress: bool = False) -> np.ndarray:
    """Check every record's geometry (:func:`check_structure`) and count its atoms.

    Args:
        dataset: The dataset (or any sequence of records).
        label: How messages name the dataset (its file).
        progress: Draw a progress bar.

    Returns:
        Atom counts, shape (n_records,) int64.

    Raises:
        HamkitError: A record with bad geometry, named ``<label>: record <key> (index <i>)``.
    """
    sizes = np.zeros(len(dataset), dtype=np.int64)
    positions = range(len(dataset))
    for index in track(positions, "checking structures") if progress else positions:
        key, structure = key_and_structure(dataset, index)
        check_structure(structure, f"{label}: record {key or index!r} (index {index})")
        sizes[index] = structure.n_atoms
    return sizes


def report_warnings(warnings: Sequence[str], console: Console | None = None) -> None:
    """Print each warning as ``warning: ...`` (yellow, on stderr unless a console is given)."""
    if not warnings:
        return
    console = console or Console(stderr=True, soft_wrap=True)
    for warning in warnings:
        console.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)


def build_context(dataset: Dataset, dtype: str, train_indices: Sequence[int] | np.ndarray | None = None,
                  seed: int = 0) -> BuildContext:
    """What the data decides for the model: species, basis, dtype, and training statistics.

    Args:
        dataset: The dataset.
        dtype: Parameter dtype name.
        train_indices: Records the statistics come from (none: no statistics); at most
            :data:`ONSITE_STATISTICS_RECORDS` of them are read (:func:`statistics_sample`).
        seed: Seed of that sample (the recipe's ``train.seed``).
    """
    statistics = {}
    if train_indices is not None:
        records = (dataset[int(i)] for i in statistics_sample(train_indices, seed))
        statistics["onsite_mean"] = mean_onsite_blocks(records, dataset.basis)
    return BuildContext(species=tuple(dataset.basis.elements), basis=dataset.basis, dtype=dtype,
                        statistics=statistics)


def statistics_sample(train_indices: Sequence[int] | np.ndarray, seed: int,
                      limit: int = ONSITE_STATISTICS_RECORDS) -> np.ndarray:
    """The training records the statistics average over.

    Args:
        train_indices: The training split, (n_train,).
        seed: Seed of the sample.
        limit: Most records to use.

    Returns:
        (min(n_train, limit),) int64: all of ``train_indices`` in their order when there are
        at most ``limit``, else ``limit`` of them drawn without replacement, in split order.
    """
    indices = np.asarray(train_indices, dtype=np.int64).reshape(-1)
    if len(indices) <= limit:
        return indices
    chosen = np.random.default_rng(seed).choice(len(indices), size=limit, replace=False)
    return indices[np.sort(chosen)]


def make_graphs(dataset: Dataset, indices: Sequence[int] | np.ndarray, cutoff: float | None,
                label: str) -> list[Data]:
    """Labelled graphs of the given records, with a progress bar."""
    return [
        labelled_graph(dataset[int(index)], dataset.basis, cutoff)
        for index in track(indices, f"building {label} graphs")
    ]


class LazyGraphs(torch.utils.data.Dataset):
    """Graphs built on demand (in DataLoader workers, or when indexed), for data too large
    to keep in memory.

    Args:
        dataset: The dataset component (must be picklable for worker processes).
        indices: Record indices, in graph order.
        cutoff: Pair cutoff in Angstrom (None: all pairs).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray, cutoff: float | None) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.cutoff = cutoff

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, position: int) -> Data: ...

    @overload
    def __getitem__(self, position: slice) -> list[Data]: ...

    def __getitem__(self, position: int | slice) -> Data | list[Data]:
        """Graph ``position``, or a list of graphs for a slice (each built now)."""
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        return self.graph_of(self.dataset[self.indices[position]])

    def graph_of(self, record: HamiltonianRecord) -> Data:
        """The labelled graph of a record of this dataset."""
        return labelled_graph(record, self.dataset.basis, self.cutoff)


class RecordGraphs(torch.utils.data.Dataset):
    """``(record, graph)`` pairs of a split, records read on demand (for evaluation).

    A lazy ``graphs`` builds each graph from the record just read, so a record is read once.

    Args:
        dataset: The dataset component.
        indices: Record indices, aligned with ``graphs``.
        graphs: Their graphs: a list, or :class:`LazyGraphs` over the same indices.
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray, graphs: Indexed[Data]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.graphs = graphs

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[HamiltonianRecord, Data]:
        record = self.dataset[self.indices[position]]
        if isinstance(self.graphs, LazyGraphs):
            return record, self.graphs.graph_of(record)
        return record, self.graphs[position]


def split_graphs(data: PreparedData, cutoff: float | None) -> dict[str, Indexed[Data]]:
    """The graphs of ``train``, ``val`` and ``test``: lazy when streaming, else all built now.

    Args:
        data: The prepared data (its ``streaming`` decides).
        cutoff: Pair cutoff in Angstrom (None: all pairs).
    """
    if data.streaming:
        return {name: LazyGraphs(data.dataset, data.splits[name], cutoff) for name in ("train", "val", "test")}
    graphs: dict[str, Indexed[Data]] = {
        name: make_graphs(data.dataset, data.splits[name], cutoff, name) for name in ("val", "test")
    }
    graphs["train"] = make_graphs(data.dataset, data.splits["train"], cutoff, "train")
    return graphs


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
    return build_dataset(record, config)
