"""Labelling on a Dask cluster: each PySCF job is one Dask task, results stream back.

``hamkit data generate --scheduler ADDRESS`` sends the jobs to a running Dask scheduler
(``tcp://host:8786``), ``--scheduler local:N`` starts a ``LocalCluster`` of N single-threaded
worker processes on this machine, and ``--cluster CONFIG.yaml`` starts a dask-jobqueue
cluster (SLURM or PBS; :mod:`hamkit.labelling.dask_cluster_config`).

Each task labels one :class:`~hamkit.labelling.sources.Job` on a worker and returns its
:class:`~hamkit.labelling.generate.Outcome`; this process (the only writer) stores each result
as it arrives (``as_completed``), through the same resumable writer as the local path,
so a killed run resumes with nothing recomputed. A bounded number of tasks is in flight
at once, so a million inputs do not all wait on the scheduler. Dask's nannies start
workers with ``OMP_NUM_THREADS=1``, so one worker thread runs one single-threaded SCF:
a job script runs ``processes`` workers (default: one per core).

Dask (``dask[distributed]``, and ``dask-jobqueue`` for ``--cluster``) is optional and
imported only here, when a cluster is asked for.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Any

from rich.console import Console

from hamkit.data.basis import OrbitalBasis
from hamkit.errors import HamkitError
from hamkit.labelling.dask_cluster_config import DaskTarget
from hamkit.labelling.generate import Outcome, OutcomeSource, Settings, label_job
from hamkit.labelling.jobs import Job

MIN_IN_FLIGHT = 32
"""Tasks kept submitted at least, whatever the number of worker threads."""
IN_FLIGHT_PER_THREAD = 4
"""Tasks kept submitted per worker thread (so no worker waits for the next input)."""
SUBMIT_COMMANDS = {"slurm": "sbatch", "pbs": "qsub"}
"""The batch command each kind of cluster submits its jobs with."""


# --------------------------------------------------------------------- optional imports
def require_distributed() -> ModuleType:
    """``distributed``, or an error that says how to install it.

    Raises:
        HamkitError: Dask's distributed scheduler is not installed.
    """
    try:
        import distributed
    except ImportError:
        raise HamkitError('labelling on a Dask cluster needs dask[distributed]: '
                          'pip install "hamkit[cluster]"') from None
    return distributed


def require_jobqueue() -> ModuleType:
    """``dask_jobqueue``, or an error that says how to install it.

    Raises:
        HamkitError: dask-jobqueue is not installed.
    """
    try:
        import dask_jobqueue
    except ImportError:
        raise HamkitError("--cluster starts a SLURM/PBS cluster with dask-jobqueue, which is not "
                          'installed: pip install dask-jobqueue (or pip install "hamkit[cluster]")') from None
    return dask_jobqueue


# --------------------------------------------------------------------- clusters
def check_can_start(target: DaskTarget) -> None:
    """Fail before any work when ``target`` cannot run here.

    Raises:
        HamkitError: Dask missing; for a batch cluster, dask-jobqueue missing or the batch
            system's submit command (``sbatch``, ``qsub``) not on the PATH.
    """
    require_distributed()
    if target.cluster is None:
        return
    kind = target.cluster.kind
    command = SUBMIT_COMMANDS[kind]
    if shutil.which(command) is None:
        raise HamkitError(f"--cluster {kind}: '{command}' is not on this machine's PATH; run hamkit on "
                          f"a {kind.upper()} login node (or use --scheduler ADDRESS)")
    require_jobqueue()


def _start_cluster(target: DaskTarget, stack: ExitStack) -> Any:
    """Start the LocalCluster or batch cluster of ``target`` (closed with ``stack``); None for an address."""
    distributed = require_distributed()
    if target.local_workers is not None:
        return stack.enter_context(distributed.LocalCluster(
            n_workers=target.local_workers, threads_per_worker=1, processes=True, dashboard_address=":0"))
    if target.cluster is None:
        return None
    config = target.cluster
    jobqueue = require_jobqueue()
    kind = jobqueue.SLURMCluster if config.kind == "slurm" else jobqueue.PBSCluster
    cluster = stack.enter_context(kind(**config.cluster_options()))
    cluster.scale(jobs=config.jobs)
    return cluster


@contextmanager
def dask_client(target: DaskTarget, console: Console) -> Iterator[Any]:
    """A ``distributed.Client`` of ``target``; a cluster started here is closed on exit.

    Raises:
        HamkitError: Dask missing, or the scheduler cannot be reached.
    """
    distributed = require_distributed()
    with ExitStack() as stack:
        cluster = _start_cluster(target, stack)
        try:
            client = stack.enter_context(distributed.Client(cluster if cluster is not None else target.address))
        except (OSError, TimeoutError) as error:
            raise HamkitError(f"cannot reach the {target.describe()} ({error}); is the scheduler "
                              "running, and is the address right?") from None
        console.print(f"labelling on the {target.describe()}, dashboard {client.dashboard_link}",
                      highlight=False, soft_wrap=True)
        yield client


# --------------------------------------------------------------------- tasks
def label_on_worker(job: Job, settings: Settings, basis: dict[str, Any]) -> Outcome:
    """The Dask task: label one job on a worker (see :func:`hamkit.labelling.generate.label_job`).

    Args:
        job: The structure or SMILES.
        settings: Label settings.
        basis: The store's basis as :meth:`OrbitalBasis.to_dict` writes it.

    Returns:
        The outcome, sent back to the client.
    """
    return label_job(job, settings, OrbitalBasis.from_dict(basis))


def _in_flight(client: Any) -> int:
    """How many tasks to keep submitted for the worker threads the cluster has now."""
    threads = sum(client.nthreads().values())
    return max(MIN_IN_FLIGHT, IN_FLIGHT_PER_THREAD * threads)


def _received(future: Any, job: Job, distributed: ModuleType) -> Outcome:
    """The outcome of a finished task; a worker that died on it becomes a logged failure.

    Raises:
        Exception: Whatever else the task raised (a bug: it stops the run, as locally).
    """
    try:
        return future.result()
    except distributed.KilledWorker as error:
        return Outcome(job, None, f"the Dask worker died while labelling it ({error}); "
                       "not enough memory per worker?")
    finally:
        future.release()


def stream_outcomes(client: Any, jobs: Sequence[Job], settings: Settings,
                    basis: OrbitalBasis) -> Generator[Outcome, None, None]:
    """Label ``jobs`` on the workers of ``client``; yield each outcome as it arrives.

    At most :func:`_in_flight` tasks are submitted at a time; tasks still pending when the
    generator is closed (the caller was interrupted) are cancelled.

    Args:
        client: A connected ``distributed.Client``.
        jobs: What to label.
        settings: Label settings.
        basis: The store's basis.

    Yields:
        One outcome per job, in the order they finish.
    """
    distributed = require_distributed()
    remaining = iter(jobs)
    data = basis.to_dict()
    pending: dict[Any, Job] = {}
    arrivals = distributed.as_completed()

    def submit(count: int) -> None:
        for job in itertools.islice(remaining, max(count, 0)):
            future = client.submit(label_on_worker, job, settings, data,
                                   key=f"hamkit-label-{job.key}-{uuid.uuid4().hex[:8]}")
            pending[future] = job
            arrivals.add(future)

    submit(_in_flight(client))
    try:
        for future in arrivals:
            outcome = _received(future, pending.pop(future), distributed)
            submit(_in_flight(client) - len(pending))
            yield outcome
    finally:
        if pending:
            client.cancel(list(pending))


def dask_outcomes(target: DaskTarget, console: Console | None = None) -> OutcomeSource:
    """The :data:`~hamkit.labelling.generate.OutcomeSource` that labels on a Dask cluster.

    The cluster is started (or the scheduler connected) only when there is something to
    label, and closed when the run ends, however it ends.

    Args:
        target: Where to run (:func:`~hamkit.labelling.dask_cluster_config.parse_scheduler`,
            :func:`~hamkit.labelling.dask_cluster_config.load_cluster_config`).
        console: Where the cluster's address and dashboard are announced (default: stderr).

    Returns:
        ``source(jobs, settings, basis)`` for :func:`hamkit.labelling.generate.generate`.

    Raises:
        HamkitError: The target cannot run here (:func:`check_can_start`; raised at once,
            before any work).
    """
    check_can_start(target)
    distributed = require_distributed()
    console = console or Console(stderr=True)

    def outcomes(jobs: Sequence[Job], settings: Settings, basis: OrbitalBasis) -> Generator[Outcome, None, None]:
        if not jobs:
            return
        with dask_client(target, console) as client:
            try:
                yield from stream_outcomes(client, jobs, settings, basis)
            except (OSError, distributed.CancelledError) as error:
                raise HamkitError(f"lost the {target.describe()} ({type(error).__name__}: {error}); every "
                                  "structure received is stored: run the same command again to resume") from None

    return outcomes
