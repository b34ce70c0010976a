"""``--scheduler`` and ``--cluster`` of ``hamkit data generate``: label on a Dask cluster."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console


def add_dask_options(group: argparse._ActionsContainer) -> None:
    """Add ``--scheduler`` and ``--cluster`` (to the group that also holds ``--workers``)."""
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="Label on a running Dask scheduler (tcp://host:8786), or 'local:N' to start "
                       "N single-threaded Dask worker processes here; needs pip install \"hamkit[cluster]\".")
    group.add_argument("--cluster", metavar="CONFIG.yaml",
                       help="Start a SLURM or PBS Dask cluster (dask-jobqueue) from this YAML file "
                       "(kind, jobs, cores, memory, walltime, queue, account, ...) and label on it.")


def outcome_source(args: argparse.Namespace, console: Console) -> Any:
    """The Dask outcome source the options ask for, or None (this machine's processes).

    Raises:
        HamkitError: Invalid ``--scheduler`` text or ``--cluster`` file, Dask not installed.
    """
    if args.scheduler is None and args.cluster is None:
        return None
    from hamkit.labelling.dask_cluster_config import DaskTarget, load_cluster_config, parse_scheduler
    from hamkit.labelling.dask_labelling import dask_outcomes

    if args.scheduler is not None:
        target = parse_scheduler(args.scheduler)
    else:
        target = DaskTarget(cluster=load_cluster_config(args.cluster))
    return dask_outcomes(target, console)
