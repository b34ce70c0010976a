"""How many CPU threads torch uses for training.

Each torch process starts one OpenMP thread per core. Two such processes on a busy
machine fight for the same cores and can run ~100x slower than one alone; and the many
small tensor operations of a molecule-sized graph gain nothing from intra-op threads.
So unless the recipe says otherwise (``train.threads``), hamkit picks:

* 1 thread for small structures (on average at most :data:`SMALL_STRUCTURE_ATOMS` atoms),
* otherwise the cores this process may use that are not already busy (load average),
  at least 1.

``OMP_NUM_THREADS`` set in the environment is respected as the user's choice when the
recipe leaves ``train.threads`` unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

SMALL_STRUCTURE_ATOMS = 30
"""Mean atoms per structure up to which one thread is fastest (measured, see docs/DESIGN.md)."""


@dataclass(frozen=True)
class ThreadChoice:
    """The number of threads and why, for the log line.

    Attributes:
        threads: Intra-op threads torch will use.
        reason: Why this number (shown to the user).
    """

    threads: int
    reason: str

    def describe(self) -> str:
        """``"threads: 1 (auto: ...)"``."""
        return f"threads: {self.threads} ({self.reason})"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def idle_cores(cores: int) -> int:
    """``cores`` minus the machine's 1-minute load average (rounded), at least 1."""
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, cores - busy)


def choose_threads(requested: int | None, mean_atoms: float,
                   environ: Mapping[str, str] | None = None) -> ThreadChoice:
    """The thread count for training.

    Args:
        requested: ``train.threads`` from the recipe (None: automatic).
        mean_atoms: Mean atoms per training structure.
        environ: Environment (default ``os.environ``), for ``OMP_NUM_THREADS``.

    Returns:
        The choice and its reason.
    """
    environ = os.environ if environ is None else environ
    if requested is not None:
        return ThreadChoice(requested, "train.threads")
    omp = environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        return ThreadChoice(int(omp), "OMP_NUM_THREADS")
    if mean_atoms <= SMALL_STRUCTURE_ATOMS:
        return ThreadChoice(1, f"auto: small structures ({mean_atoms:.0f} atoms on average) run fastest "
                               "on one thread; set train.threads to change")
    cores = usable_cores()
    free = idle_cores(cores)
    return ThreadChoice(free, f"auto: {free} of {cores} cores are idle; set train.threads to change")


def apply_threads(choice: ThreadChoice) -> None:
    """Set torch's intra-op thread count."""
    torch.set_num_threads(choice.threads)
