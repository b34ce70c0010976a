"""Where ``hamkit data generate`` labels on Dask: ``--scheduler`` text and ``--cluster`` files.

``--scheduler`` is ``local`` / ``local:N`` (a LocalCluster of N single-threaded worker
processes here) or a scheduler address (``tcp://host:8786``); ``--cluster CONFIG.yaml``
is a dask-jobqueue cluster (SLURM or PBS) described by a small YAML file
(:class:`ClusterConfig`)::

    kind: slurm              # or pbs
    jobs: 4                  # batch jobs to submit
    cores: 32                # per job
    memory: 64GB             # per job
    walltime: "04:00:00"     # quoted: YAML reads 4:00:00 as the number 14400
    queue: normal
    account: my-project
    job_script_prologue: ["source ~/hamkit/.venv/bin/activate"]

Problems in the file are reported with file, line and key. Nothing here imports Dask.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from hamkit.errors import HamkitError

LOCAL_SCHEME = "local"
"""``--scheduler local`` / ``local:N``: a LocalCluster on this machine."""
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*([kmgtp]i?b)\s*$", re.IGNORECASE)


class ClusterConfig(BaseModel):
    """The ``--cluster`` YAML file: a dask-jobqueue cluster of ``jobs`` batch jobs.

    Attributes:
        kind: ``"slurm"`` or ``"pbs"``.
        jobs: Batch jobs to submit (each runs ``processes`` Dask workers).
        cores: Cores per job.
        memory: Memory per job, with a unit (``"64GB"``).
        processes: Worker processes per job (default ``cores``: one single-threaded SCF
            per core).
        walltime: Time limit per job, as the batch system writes it (``"04:00:00"``).
        queue: Queue (SLURM partition).
        account: Account or project charged.
        job_extra_directives: More ``#SBATCH``/``#PBS`` lines, e.g. ``["--constraint=cpu"]``.
        job_script_prologue: Shell lines run before the workers start (activate the
            environment that has hamkit installed).
        local_directory: Scratch folder of the workers on the compute nodes.
        log_directory: Folder of the batch jobs' output files.
        interface: Network interface the workers listen on (e.g. ``ib0``).
        python: Python executable on the compute nodes (default: this one).
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    kind: Literal["slurm", "pbs"]
    jobs: StrictInt = Field(ge=1)
    cores: StrictInt = Field(ge=1)
    memory: str
    processes: StrictInt | None = Field(default=None, ge=1)
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    job_extra_directives: list[str] = Field(default_factory=list)
    job_script_prologue: list[str] = Field(default_factory=list)
    local_directory: str | None = None
    log_directory: str | None = None
    interface: str | None = None
    python: str | None = None

    @field_validator("walltime", mode="before")
    @classmethod
    def _walltime_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"YAML read the walltime as the number {value} (unquoted, 4:00:00 is "
                             '14400): quote it, e.g. walltime: "04:00:00"')
        return value

    @field_validator("memory")
    @classmethod
    def _memory_unit(cls, value: str) -> str:
        if not _MEMORY.match(value):
            raise ValueError(f"{value!r} is not an amount with a unit such as 64GB or 500MiB")
        return value.strip()

    @model_validator(mode="after")
    def _processes_fit(self) -> ClusterConfig:
        if self.processes is not None and self.processes > self.cores:
            raise ValueError(f"processes ({self.processes}) cannot exceed cores ({self.cores})")
        return self

    def cluster_options(self) -> dict[str, Any]:
        """Keyword arguments of ``dask_jobqueue.SLURMCluster``/``PBSCluster`` (unset ones left out)."""
        options = self.model_dump(exclude={"kind", "jobs"}, exclude_none=True)
        options["processes"] = self.processes or self.cores
        return {"job_name": "hamkit-label", **options}


@dataclass(frozen=True)
class DaskTarget:
    """Where the Dask work runs: a running scheduler, a LocalCluster, or a batch cluster.

    Attributes:
        address: Scheduler address (``tcp://host:8786``), or None.
        local_workers: Worker processes of a LocalCluster on this machine, or None.
        cluster: A dask-jobqueue cluster to start, or None.
    """

    address: str | None = None
    local_workers: int | None = None
    cluster: ClusterConfig | None = None

    def describe(self) -> str:
        """Words for messages: ``"Dask scheduler tcp://..."``, ``"local Dask cluster of 4 worker process(es)"``."""
        if self.cluster is not None:
            config = self.cluster
            return f"{config.kind.upper()} cluster of {config.jobs} job(s) x {config.cores} cores"
        if self.local_workers is not None:
            return f"local Dask cluster of {self.local_workers} worker process(es)"
        return f"Dask scheduler {self.address}"


# --------------------------------------------------------------------- options
def parse_scheduler(text: str) -> DaskTarget:
    """The target of ``--scheduler TEXT``: ``local``, ``local:N`` or a scheduler address.

    Args:
        text: ``local`` (one worker per CPU core), ``local:N`` (N worker processes), or
            an address such as ``tcp://host:8786``.

    Raises:
        HamkitError: ``local:`` followed by anything but a positive integer, or empty text.
    """
    text = text.strip()
    if not text:
        raise HamkitError("--scheduler: give a Dask scheduler address (tcp://host:8786) or local:N")
    scheme, _, count = text.partition(":")
    if scheme != LOCAL_SCHEME:
        return DaskTarget(address=text)
    if not count:
        return DaskTarget(local_workers=os.cpu_count() or 1)
    if not count.isdigit() or int(count) < 1:
        raise HamkitError(f"--scheduler {text}: expected local:N with N >= 1 worker processes")
    return DaskTarget(local_workers=int(count))


def load_cluster_config(path: str | Path) -> ClusterConfig:
    """Read and check a ``--cluster`` YAML file.

    Raises:
        HamkitError: Missing or unreadable file, invalid YAML, unknown keys, wrong values;
            every problem is named with the file, its line and the key.
    """
    from hamkit.recipe.errors import Origin, RecipeError, RecipeIssue
    from hamkit.recipe.validate import issues_from_validation
    from hamkit.recipe.yaml_source import read_yaml

    path = Path(path)
    try:
        data, lines = read_yaml(path)
    except RecipeError as error:
        raise _config_error(error.issues) from None
    if not isinstance(data, dict):
        raise _config_error([RecipeIssue(Origin(str(path), 1), "", "a cluster config is a mapping "
                                         "with kind, jobs, cores, memory, ...")])
    try:
        return ClusterConfig.model_validate(data)
    except ValidationError as error:
        raise _config_error(issues_from_validation(error, ClusterConfig, lines, ())) from None


def _config_error(issues: Sequence[Any]) -> HamkitError:
    """One error listing every problem of a cluster config (``file:line: key: problem``)."""
    count = f"{len(issues)} problems" if len(issues) > 1 else "1 problem"
    listed = "\n".join(f"  {issue}" for issue in issues)
    return HamkitError(f"invalid --cluster config ({count}):\n{listed}")
