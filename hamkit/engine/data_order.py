"""Which structures form each batch: a pure function of seed and batch number.

Because the order is recomputed rather than carried as state, a resumed run sees
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import functools
import math

import numpy as np


def batch_indices(batch_number: int, n_items: int, batch_size: int, seed: int) -> np.ndarray:
    """Indices of the ``batch_number``-th batch (0-based) over endless shuffled epochs.

    Args:
        batch_number: Counts micro-batches from the start of training.
        n_items: Training set size.
        batch_size: Structures per batch (the last batch of an epoch may be smaller).
        seed: Data-order seed.

    Returns:
        (<= batch_size,) int64 indices into the training set.
    """
    per_epoch = math.ceil(n_items / batch_size)
    epoch, position = divmod(batch_number, per_epoch)
    return epoch_order(n_items, seed, epoch)[position * batch_size:(position + 1) * batch_size].copy()


@functools.lru_cache(maxsize=2)
def epoch_order(n_items: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of one epoch, (n_items,) int64, read-only.

    Cached: every batch of an epoch slices the same permutation (drawing 10^5 of them per
    batch would cost a millisecond each); two entries cover a loader running ahead into
    the next epoch while the loop finishes the last one.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n_items)
    order.setflags(write=False)
    return order


def shard(indices: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This rank's share of a global batch (contiguous, sizes differ by at most one)."""
    return np.array_split(indices, world_size)[rank]
