"""Train/validation/test splits in which no structure lands in two splits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hamkit.engine.run_layout import BEST_CHECKPOINT, TEST_METRICS_FILE
from hamkit.errors import HamkitError
from hamkit.recipe.schema import SplitSection, TrainSection

SPLIT_NAMES = ("train", "val", "test")


def _counts(n: int, split: SplitSection) -> tuple[int, int, int]:
    n_val = int(round(split.val * n))
    n_test = int(round(split.test * n))
    n_train = min(int(round(split.train * n)), n - n_val - n_test)
    if n_train < 1:
        raise HamkitError(
            f"the dataset has {n} structures: too few for a split with train={split.train}, "
            f"val={split.val}, test={split.test}"
        )
    return n_train, n_val, n_test


def random_split(n: int, split: SplitSection) -> dict[str, np.ndarray]:
    """Seeded random split of ``range(n)``."""
    n_train, n_val, n_test = _counts(n, split)
    order = np.random.default_rng(split.seed).permutation(n)
    return {
        "train": np.sort(order[:n_train]),
        "val": np.sort(order[n_train:n_train + n_val]),
        "test": np.sort(order[n_train + n_val:n_train + n_val + n_test]),
    }


def size_split(sizes: Sequence[int] | np.ndarray, split: SplitSection) -> dict[str, np.ndarray]:
    """Out-of-distribution split by size (QH9 style): smallest to train, largest to test.

    Structures are ordered by atom count (ties broken by a seeded shuffle); the
    smallest fill ``train``, the next ``val``, the largest ``test``.
    """
    n = len(sizes)
    n_train, n_val, n_test = _counts(n, split)
    tie_break = np.random.default_rng(split.seed).permutation(n)
    order = np.lexsort((tie_break, np.asarray(sizes)))
    return {
        "train": np.sort(order[:n_train]),
        "val": np.sort(order[n_train:n_train + n_val]),
        "test": np.sort(order[n - n_test:]),
    }


def index_file_split(n: int, path: Path) -> dict[str, np.ndarray]:
    """Split read from a JSON file ``{"train": [...], "val": [...], "test": [...]}``.

    Raises:
        HamkitError: Unreadable file, missing list, index out of range, or an index
            in two splits.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise HamkitError(f"{path}: cannot read the split index file: {error}") from None
    if not isinstance(data, dict) or "train" not in data:
        raise HamkitError(f"{path}: expected a JSON object with 'train', 'val', 'test' index lists")
    result = {}
    for name in SPLIT_NAMES:
        values = data.get(name, [])
        if not (isinstance(values, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
            raise HamkitError(f"{path}: '{name}' must be a list of integer indices")
        bad = [v for v in values if not 0 <= v < n]
        if bad:
            raise HamkitError(f"{path}: '{name}' has indices outside 0..{n - 1}: {bad[:5]}")
        result[name] = np.asarray(sorted(set(values)), dtype=np.int64)
    for first, second in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = np.intersect1d(result[first], result[second])
        if shared.size:
            raise HamkitError(f"{path}: indices {shared[:5].tolist()} are in both '{first}' and '{second}'")
    return result


def make_split(sizes: Sequence[int] | np.ndarray, split: SplitSection) -> dict[str, np.ndarray]:
    """The split a recipe asks for.

    Args:
        sizes: Atom count of each structure (used by ``size_ood``).
        split: The recipe's ``data.split`` section.

    Returns:
        Sorted index arrays for ``train``, ``val`` and ``test``, pairwise disjoint.

    Raises:
        HamkitError: Kind ``index_file`` without an index file, too few structures, or a bad
            index file.
    """
    if split.kind == "index_file":
        if split.index_file is None:  # the schema refuses this; a section built in code may not
            raise HamkitError("data.split: kind 'index_file' needs index_file: PATH")
        return index_file_split(len(sizes), split.index_file)
    if split.kind == "size_ood":
        return size_split(sizes, split)
    return random_split(len(sizes), split)


def split_size_problems(
    splits: dict[str, np.ndarray], train: TrainSection, recipe: str, n_records: int,
) -> list[str]:
    """Check the split's sizes against the recipe's training settings.

    Args:
        splits: Index arrays for ``train``, ``val``, ``test``.
        train: The recipe's ``train`` section.
        recipe: The recipe file, for messages.
        n_records: Records in the dataset.

    Returns:
        Warnings (training still runs): a batch larger than the training set, no test
        structures, no validation structures although validation is asked for.

    Raises:
        HamkitError: No training structures.
    """
    sizes = {name: len(splits.get(name, ())) for name in SPLIT_NAMES}
    counts = f"train {sizes['train']}, val {sizes['val']}, test {sizes['test']} of {n_records} structures"
    if sizes["train"] == 0:
        raise HamkitError(f"{recipe}: the split leaves no training structures ({counts}); "
                          "raise data.split.train or give the index file a non-empty 'train' list")
    problems = []
    if train.batch_size > sizes["train"]:
        problems.append(f"{recipe}: train.batch_size {train.batch_size} exceeds the {sizes['train']} "
                        f"training structures ({counts}): every step uses all {sizes['train']}, so "
                        "batches are smaller than asked; lower train.batch_size or add data")
    if sizes["test"] == 0:
        problems.append(f"{recipe}: the split leaves no test structures ({counts}): no test metrics "
                        f"will be computed ({TEST_METRICS_FILE} has none); raise data.split.test")
    asks_validation = [what for what, asked in (
        (f"train.eval_every {train.eval_every}", train.eval_every > 0),
        (f"train.early_stopping {train.early_stopping}", train.early_stopping is not None),
        ("train.schedule plateau", train.schedule == "plateau")) if asked]
    if sizes["val"] == 0 and asks_validation:
        problems.append(f"{recipe}: the split leaves no validation structures ({counts}) but "
                        f"{', '.join(asks_validation)} asks for validation: it is skipped (no "
                        f"{BEST_CHECKPOINT}, no early stopping, no plateau decay); raise data.split.val")
    return problems
