"""Label generation with PySCF: inputs -> SCF in parallel workers -> a hamkit store.

Resumable: when the output exists and was made with the same label settings (code and
version, method, functional, basis, grid level, convergence), the structures it already
holds are skipped, after checking that each such key still means the same input. Every
finished structure is written (and flushed) at once, so a killed run keeps all of them.
SCF failures (non-convergence, open shells, embedding failures) are appended to
``<out>.failed.jsonl`` and reported on the console, and the run goes on.

The SCFs run in this process, in a local process pool, or on a Dask cluster
(:mod:`hamkit.labelling.dask_labelling`, chosen with ``outcomes``); in every case this process
alone writes the store, one structure as soon as it arrives.

Molecules are labelled with :class:`LabelSettings` (one H per structure), periodic
structures with :class:`PeriodicLabelSettings` (real-space H(R) per lattice translation,
:mod:`hamkit.labelling.pbc_labels`); one run holds one kind.

Example::

    from hamkit.labelling.generate import generate
    from hamkit.labelling.pyscf_labels import LabelSettings
    from hamkit.labelling.sources import preset_jobs
    report = generate(preset_jobs("water", 10, seed=0), "water.h5", LabelSettings(), workers=2)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console

import hamkit

from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreHeader, StoreReader, StoreWriter
from hamkit.data.store.header import LABEL_FIELDS, label_differences
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.errors import HamkitError
from hamkit.labelling.jobs import Job
from hamkit.labelling.pbc_labels import PeriodicLabelSettings, compute_periodic_labels
from hamkit.labelling.pyscf_labels import LabelSettings, compute_labels
from hamkit.labelling.sources import embed_smiles

Settings = LabelSettings | PeriodicLabelSettings


@dataclass
class Outcome:
    """What a worker returns for one job.

    Attributes:
        job: The job.
        record: The labelled record, or None on failure.
        reason: Why it failed ("" on success).
        seconds: Wall time of embedding plus SCF.
    """

    job: Job
    record: HamiltonianRecord | None
    reason: str = ""
    seconds: float = 0.0


@dataclass
class GenerationReport:
    """Summary of a run.

    Attributes:
        computed: Keys labelled and written by this run.
        skipped: Keys already in the store (not recomputed).
        failed: ``(key, reason)`` of the jobs that failed.
        seconds: Wall time of the run.
        failed_log: File the failures were appended to.
    """

    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    failed_log: Path | None = None


def failed_log_path(out: str | Path) -> Path:
    """``<out>.failed.jsonl``, where failures are logged."""
    return Path(f"{out}.failed.jsonl")


# --------------------------------------------------------------------- worker side
def label_job(job: Job, settings: Settings, basis: OrbitalBasis) -> Outcome:
    """Embed (if needed) and label one job; never raises for per-structure problems.

    Args:
        job: The structure or SMILES.
        settings: Label settings (periodic settings for periodic structures).
        basis: The store's basis.

    Returns:
        The outcome; ``record`` is None with a ``reason`` when embedding failed, the
        structure is open-shell or the SCF did not converge.
    """
    start = time.perf_counter()
    try:
        structure = job.structure if job.structure is not None else embed_smiles(job.smiles or "", job.seed)
        if isinstance(settings, PeriodicLabelSettings):
            return _periodic_outcome(job, structure, settings, basis, start)
        labels = compute_labels(structure, settings, basis)
    except (ValueError, RuntimeError) as error:
        return Outcome(job, None, f"{type(error).__name__}: {error}", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if not labels.converged:
        return Outcome(job, None, f"SCF did not converge in {labels.cycles} cycles "
                       f"(last energy {labels.energy:.10f} Ha)", seconds)
    extras = {**job.extras, "energy": labels.energy, "scf_cycles": labels.cycles}
    record = HamiltonianRecord(structure, labels.hamiltonian, labels.overlap, job.key, extras)
    return Outcome(job, record, "", seconds)


def _periodic_outcome(job: Job, structure: Structure, settings: PeriodicLabelSettings,
                      basis: OrbitalBasis, start: float) -> Outcome:
    """Label a periodic structure: H(R), S(R), Fermi level and electron count per cell."""
    labels = compute_periodic_labels(structure, settings, basis)
    seconds = time.perf_counter() - start
    if not labels.converged:
        return Outcome(job, None, f"SCF did not converge in {labels.cycles} cycles "
                       f"(last energy {labels.energy:.10f} Ha)", seconds)
    extras = {**job.extras, "energy": labels.energy, "scf_cycles": labels.cycles,
              "fermi_level": labels.fermi_level, "n_electrons": labels.n_electrons}
    record = HamiltonianRecord(structure, labels.hamiltonian, labels.overlap, job.key, extras,
                               translations=labels.translations)
    return Outcome(job, record, "", seconds)


def _init_worker() -> None:
    """Make a worker process single-threaded (before any PySCF computation)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    from pyscf import lib

    lib.num_threads(1)


def _label_packed(arguments: tuple[Job, Settings, dict[str, Any]]) -> Outcome:
    job, settings, basis = arguments
    return label_job(job, settings, OrbitalBasis.from_dict(basis))


OutcomeSource = Callable[[Sequence[Job], Settings, OrbitalBasis], Generator[Outcome, None, None]]
"""Where outcomes come from: ``source(jobs, settings, basis)`` yields one :class:`Outcome`
per job, in any order (this process pool, or a Dask cluster:
:func:`hamkit.labelling.dask_labelling.dask_outcomes`)."""


def local_outcomes(workers: int = 1) -> OutcomeSource:
    """The :data:`OutcomeSource` of this machine: this process, or ``workers`` processes."""
    return lambda jobs, settings, basis: _outcomes(jobs, settings, basis, workers)


def _outcomes(jobs: Sequence[Job], settings: Settings, basis: OrbitalBasis,
              workers: int) -> Generator[Outcome, None, None]:
    """Outcomes in job order; ``workers > 1`` uses a spawned single-threaded process pool."""
    if workers <= 1:
        for job in jobs:
            yield label_job(job, settings, basis)
        return
    context = multiprocessing.get_context("spawn")  # fork after OpenMP/torch init can hang
    with context.Pool(workers, initializer=_init_worker) as pool:
        arguments = [(job, settings, basis.to_dict()) for job in jobs]
        yield from pool.imap(_label_packed, arguments, chunksize=1)


# --------------------------------------------------------------------- resume checks
def _check_resume(out: Path, jobs: Sequence[Job], label_provenance: dict[str, Any]) -> set[str]:
    """Keys of ``jobs`` already stored in ``out``, after checking settings and inputs.

    Raises:
        HamkitError: Different label settings, or a stored key made from another input.
    """
    with StoreReader(out) as store:
        fields = [*LABEL_FIELDS, *sorted(set(label_provenance) - set(LABEL_FIELDS))]
        differences = [f"{name}: stored {stored!r}, requested {requested!r}" for name, stored, requested
                       in label_differences(store.header.provenance, label_provenance, fields)]
        if differences:
            raise HamkitError(
                f"{out} exists with different label settings ({'; '.join(differences)}); "
                "choose another --out, or delete the file to start over"
            )
        done = set(store.keys) - set(store.damaged_keys)  # damaged records are computed again
        for job in jobs:
            if job.key in done and store.source_id(job.key) not in (None, job.source_id):
                raise HamkitError(
                    f"{out}: record {job.key!r} was made from a different input "
                    f"({store.source_id(job.key)} != {job.source_id}); the input changed since "
                    "the first run: choose another --out"
                )
    return {job.key for job in jobs if job.key in done}


def _progress(console: Console, enabled: bool):  # noqa: ANN202 - rich Progress
    from rich.progress import TextColumn

    from hamkit.engine.progress import progress_bar

    return progress_bar(TextColumn("elapsed"), console=console, disable=not enabled)


# --------------------------------------------------------------------- driver
def generate(
    jobs: Sequence[Job],
    out: str | Path,
    settings: Settings,
    *,
    workers: int = 1,
    outcomes: OutcomeSource | None = None,
    source: dict[str, Any] | None = None,
    command_line: str | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> GenerationReport:
    """Label ``jobs`` with PySCF and append them to the store ``out``.

    Args:
        jobs: What to compute (see :mod:`hamkit.labelling.sources`); keys must be unique.
        out: Store path; created, or resumed when it exists with the same settings.
        settings: Functional, basis, grid level, convergence; periodic settings
            (k-mesh, pseudopotential, ...) for periodic structures.
        workers: Processes; each runs PySCF single-threaded. ``1`` computes in this
            process with PySCF's default threading.
        outcomes: Where the structures are labelled instead (e.g. a Dask cluster,
            :func:`hamkit.labelling.dask_labelling.dask_outcomes`); ``workers`` is then unused.
            Whatever the source, this process alone writes the store, as results arrive.
        source: Description of the input recorded in the provenance (e.g.
            ``{"kind": "preset", "name": "water", "seed": 0}``).
        command_line: Recorded in the provenance.
        progress: Show a progress bar with ETA.
        console: Where messages go (default: stderr).

    Returns:
        The report (computed, skipped, failed keys).

    Raises:
        HamkitError: Invalid settings, duplicate keys, molecules with periodic settings
            (or the reverse), or an incompatible existing ``out``.
    """
    console = console or Console(stderr=True)
    out = Path(out)
    start = time.perf_counter()
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise HamkitError("duplicate structure keys in the input")
    _check_periodicity(jobs, settings)
    elements = sorted({z for job in jobs for z in job.elements})
    basis = settings.check(elements)
    label_provenance = settings.provenance()
    report = GenerationReport(failed_log=failed_log_path(out))

    existed = out.exists()
    done = _check_resume(out, jobs, label_provenance) if existed else set()
    report.skipped = [key for key in keys if key in done]
    todo = [job for job in jobs if job.key not in done]
    if report.skipped:
        console.print(f"resuming {out}: {len(report.skipped)} structure(s) already stored, "
                      f"{len(todo)} to compute", highlight=False, soft_wrap=True)

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run_info = {"command_line": command_line, "time": now, "hamkit_version": hamkit.__version__}
    provenance = {**label_provenance, "hamkit_version": hamkit.__version__,
                  "command_line": command_line, "created": now, "source": source or {},
                  "resumed": []}
    with StoreWriter(out, StoreHeader(basis, provenance)) as writer:
        if existed:
            stored = dict(writer.header.provenance)
            stored["resumed"] = [*stored.get("resumed", []), run_info]
            writer.set_header(StoreHeader(writer.header.basis, stored))
        source_of = outcomes or local_outcomes(workers)
        with _progress(console, progress) as bar, closing(source_of(todo, settings, basis)) as labelled:
            task = bar.add_task(f"{settings.xc}/{settings.basis}", total=len(todo))
            for outcome in labelled:
                if outcome.record is not None:
                    writer.write(outcome.record, source_id=outcome.job.source_id)
                    report.computed.append(outcome.job.key)
                else:
                    _log_failure(report, outcome, console)
                bar.advance(task)
    report.seconds = time.perf_counter() - start
    return report


def _check_periodicity(jobs: Sequence[Job], settings: Settings) -> None:
    """Periodic settings for periodic structures only, molecular settings for molecules only,
    and a k-mesh with one point along every non-periodic axis.

    Raises:
        HamkitError: A mismatch (names the first offending key).
    """
    periodic = isinstance(settings, PeriodicLabelSettings)
    for job in jobs:
        is_periodic = job.structure is not None and job.structure.is_periodic
        if is_periodic != periodic:
            kind = "periodic structure" if is_periodic else "molecule"
            wanted = "periodic" if is_periodic else "molecular"
            raise HamkitError(f"{job.key} is a {kind}: it needs {wanted} label settings "
                              f"({'PeriodicLabelSettings' if is_periodic else 'LabelSettings'})")
        if isinstance(settings, PeriodicLabelSettings) and job.structure is not None:
            sampled = [axis for axis in range(3)
                       if not job.structure.pbc[axis] and settings.kmesh[axis] != 1]
            if sampled:
                raise HamkitError(f"{job.key}: the k-mesh {settings.kmesh} samples axis "
                                  f"a{sampled[0] + 1}, which is not periodic (use 1 there)")


def _log_failure(report: GenerationReport, outcome: Outcome, console: Console) -> None:
    entry = {"key": outcome.job.key, "reason": outcome.reason, "source_id": outcome.job.source_id,
             **{k: v for k, v in outcome.job.extras.items() if isinstance(v, (str, int, float))},
             "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    assert report.failed_log is not None
    with report.failed_log.open("a") as log:
        log.write(json.dumps(entry) + "\n")
    report.failed.append((outcome.job.key, outcome.reason))
    console.print(f"warning: {outcome.job.key} skipped: {outcome.reason} "
                  f"(logged to {report.failed_log})", style="yellow", markup=False, highlight=False)
