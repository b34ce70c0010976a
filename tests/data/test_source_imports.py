"""The label inputs import in any order (no sources <-> periodic_sources loop), and the
labelling modules stay importable at their old hamkit.data paths."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = ("hamkit.labelling.sources", "hamkit.labelling.periodic_sources", "hamkit.labelling.jobs",
           "hamkit.data.sources", "hamkit.data.periodic_sources")
MOVED = ("pyscf_labels", "pbc_labels", "pbc_overlap", "pbc_cell", "generate", "sources", "periodic_sources",
         "dask_labelling", "dask_cluster_config", "lattice_fourier")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("module", MODULES)
def test_imports_first_in_a_fresh_interpreter(module: str) -> None:
    result = _python(f"import {module}; from hamkit.labelling.sources import preset_jobs; "
                     "preset_jobs('graphene', 1, 0)")
    assert result.returncode == 0, result.stderr


def test_periodic_sources_does_not_import_sources() -> None:
    result = _python("import sys, hamkit.labelling.periodic_sources; "
                     "sys.exit(1 if 'hamkit.labelling.sources' in sys.modules else 0)")
    assert result.returncode == 0, "periodic_sources imports sources (the loop is back)"


@pytest.mark.parametrize("name", MOVED)
def test_old_path_is_the_moved_module(name: str) -> None:
    old = importlib.import_module(f"hamkit.data.{name}")
    assert old is importlib.import_module(f"hamkit.labelling.{name}")
