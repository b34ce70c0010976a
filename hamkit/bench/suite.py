"""The benchmark of ``hamkit bench``: per recipe and dtype, how time and memory scale with size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hamkit.bench.crystals import DEFAULT_SUPERCELLS, supercell_series
from hamkit.bench.machine import THREADS_NOTE, machine_info
from hamkit.bench.molecules import DEFAULT_SIZES, size_series
from hamkit.bench.scf import scf_seconds
from hamkit.bench.timing import in_fresh_process, scaling_times
from hamkit.engine.prepare import open_dataset
from hamkit.errors import HamkitError
from hamkit.recipe import load_recipe

ROW_KEYS = ("recipe", "dtype", "device", "parameters", "basis", "molecule", "size", "atoms", "orbitals",
            "train_step_s", "inference_s", "peak_memory_mb", "scf_s", "scf_cycles", "scf_converged", "speedup")


@dataclass
class BenchSettings:
    """What to measure.

    Attributes:
        recipes: Recipe files.
        dtypes: Parameter dtypes (``float32``, ``float64``).
        sizes: Molecule sizes (carbons of an alkane, or waters of a cluster), or supercell
            repeats for periodic recipes; None: :data:`DEFAULT_SIZES` / :data:`DEFAULT_SUPERCELLS`.
        max_sizes: Use only this many of the smallest sizes (quick looks); None: all.
        repeats: Timed repeats (medians are reported).
        warmup: Untimed calls before them, per molecule and phase.
        scf: Run PySCF SCF for comparison.
        scf_sizes: At most this many (smallest) sizes get an SCF (None: all).
        xc: Functional of the SCF.
        overrides: ``--set`` overrides applied to every recipe.
    """

    recipes: Sequence[str]
    dtypes: Sequence[str] = ("float32",)
    sizes: Sequence[int] | None = None
    max_sizes: int | None = None
    repeats: int = 5
    scf: bool = True
    scf_sizes: int | None = None
    xc: str = "b3lyp"
    overrides: Sequence[str] = field(default_factory=tuple)
    warmup: int = 3


def run_bench(settings: BenchSettings) -> dict[str, Any]:
    """Measure every recipe x dtype (each in a fresh process) and the SCFs (in this process).

    Molecular recipes run on alkanes or water clusters of ``settings.sizes``; recipes whose
    data is periodic on ``n x n`` supercells of their first structure (no SCF comparison:
    a periodic SCF per supercell is beyond a benchmark's budget).

    Returns:
        ``machine`` (:func:`hamkit.bench.machine.machine_info`), ``settings``, ``note`` and
        ``rows``: one per recipe x dtype x size with :data:`ROW_KEYS` (SCF fields None when
        not run). Times in seconds, memory in MiB; ``speedup`` = SCF time / inference time.

    Raises:
        HamkitError: A recipe file is missing, or its basis covers no benchmark molecules.
    """
    for path in settings.recipes:
        if not Path(path).is_file():
            raise HamkitError(f"recipe file not found: {path}")
    rows: list[dict[str, Any]] = []
    scf_cache: dict[tuple[str, str], dict[str, Any]] = {}
    for path in settings.recipes:
        dataset = open_dataset(load_recipe(path, list(settings.overrides)))
        basis = dataset.basis
        first = dataset[0].structure if len(dataset) else None
        crystal = first if first is not None and first.is_periodic else None
        periodic = crystal is not None
        sizes = sorted(settings.sizes or (DEFAULT_SUPERCELLS if periodic else DEFAULT_SIZES))[:settings.max_sizes]
        molecules = supercell_series(crystal, sizes) if crystal is not None else size_series(basis.elements, sizes)
        structures = [molecule.structure for molecule in molecules]
        for dtype in settings.dtypes:
            result = in_fresh_process(scaling_times, path, dtype, structures, settings.repeats,
                                      list(settings.overrides), settings.warmup)
            for position, (molecule, timing) in enumerate(zip(molecules, result["rows"])):
                row = {"recipe": path, "dtype": dtype, "device": result["device"],
                       "parameters": result["parameters"], "basis": result["basis"],
                       "molecule": molecule.name, "size": molecule.size, **timing,
                       "scf_s": None, "scf_cycles": None, "scf_converged": None, "speedup": None}
                if settings.scf and not periodic and (settings.scf_sizes is None or position < settings.scf_sizes):
                    key = (basis.name, molecule.name)
                    if key not in scf_cache:
                        scf_cache[key] = scf_seconds(molecule.structure, basis, settings.xc)
                    scf = scf_cache[key]
                    row.update(scf_s=scf["seconds"], scf_cycles=scf["cycles"], scf_converged=scf["converged"],
                               speedup=scf["seconds"] / timing["inference_s"])
                rows.append(row)
    return {
        "machine": machine_info(),
        "settings": {"recipes": list(settings.recipes), "dtypes": list(settings.dtypes),
                     "sizes": None if settings.sizes is None else [int(s) for s in settings.sizes],
                     "repeats": settings.repeats, "warmup": settings.warmup,
                     "scf": settings.scf, "xc": settings.xc, "overrides": list(settings.overrides)},
        "note": THREADS_NOTE,
        "rows": rows,
    }
