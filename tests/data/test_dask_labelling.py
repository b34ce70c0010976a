"""Labelling on a real Dask cluster: same store as the local path, resume, clear user errors."""

from __future__ import annotations

import io
import json
import sys
from contextlib import closing

import numpy as np
import pytest
from rich.console import Console

from hamkit.data.dask_cluster_config import DaskTarget, load_cluster_config, parse_scheduler
from hamkit.data.dask_labelling import dask_outcomes, require_distributed, require_jobqueue
from hamkit.data.generate import failed_log_path, generate
from hamkit.data.pyscf_labels import LabelSettings
from hamkit.data.sources import preset_jobs
from hamkit.data.store import StoreReader
from hamkit.errors import HamkitError

from tests.reliability.conftest import run_cli

distributed = pytest.importorskip("distributed")
HF_STO3G = LabelSettings(xc="hf", basis="sto-3g")


@pytest.fixture(scope="module")
def scheduler():
    """Address of a LocalCluster of two single-threaded worker processes."""
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def on_cluster(address: str, console: Console | None = None):
    return dask_outcomes(DaskTarget(address=address), console or quiet())


def counting(source, labelled: list[str], stop_after: int | None = None):
    """``source`` that records the keys it labels and raises KeyboardInterrupt after ``stop_after``."""

    def wrapped(jobs, settings, basis):
        with closing(source(jobs, settings, basis)) as outcomes:
            for outcome in outcomes:
                if len(labelled) == stop_after:
                    raise KeyboardInterrupt  # the client is killed: the cluster's tasks are dropped
                labelled.append(outcome.job.key)
                yield outcome

    return wrapped


def test_dask_store_equals_the_local_one(tmp_path, scheduler):
    jobs = preset_jobs("water", 3, seed=5)
    local = generate(jobs, tmp_path / "local.h5", HF_STO3G, progress=False, console=quiet())
    console = quiet()
    remote = generate(jobs, tmp_path / "dask.h5", HF_STO3G, outcomes=on_cluster(scheduler, console),
                      progress=False, console=console)
    assert sorted(remote.computed) == local.computed and not remote.failed
    assert f"labelling on the Dask scheduler {scheduler}" in console.file.getvalue()
    with StoreReader(tmp_path / "local.h5") as a, StoreReader(tmp_path / "dask.h5") as b:
        assert sorted(b.keys) == a.keys
        assert {name: b.header.provenance[name] for name in HF_STO3G.provenance()} == \
            {name: a.header.provenance[name] for name in HF_STO3G.provenance()}
        for key in a.keys:
            x, y = a.get(key), b.get(key)
            assert np.abs(x.hamiltonian - y.hamiltonian).max() < 1e-10
            assert np.abs(x.overlap - y.overlap).max() < 1e-10
            assert np.array_equal(x.structure.positions, y.structure.positions)
            assert abs(x.extras["energy"] - y.extras["energy"]) < 1e-10
            assert a.source_id(key) == b.source_id(key)


def test_interrupted_dask_run_resumes_without_recomputation(tmp_path, scheduler):
    out = tmp_path / "water.h5"
    jobs = preset_jobs("water", 5, seed=11)
    first: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        generate(jobs, out, HF_STO3G, outcomes=counting(on_cluster(scheduler), first, stop_after=2),
                 progress=False, console=quiet())
    with StoreReader(out) as store:
        assert sorted(store.keys) == sorted(first) and len(first) == 2
        kept = {key: store.get(key).hamiltonian for key in store.keys}

    second: list[str] = []
    report = generate(jobs, out, HF_STO3G, outcomes=counting(on_cluster(scheduler), second),
                      progress=False, console=quiet())
    assert sorted(second) == sorted(set(job.key for job in jobs) - set(first))  # each missing one once
    assert sorted(report.computed) == sorted(second) and sorted(report.skipped) == sorted(first)
    with StoreReader(out) as store:
        assert sorted(store.keys) == [job.key for job in jobs]
        assert all(np.array_equal(store.get(key).hamiltonian, kept[key]) for key in first)

    third: list[str] = []
    again = generate(jobs, out, HF_STO3G, outcomes=counting(on_cluster(scheduler), third),
                     progress=False, console=quiet())
    assert third == [] and again.computed == [] and len(again.skipped) == 5


def test_scf_failures_on_workers_are_logged_and_skipped(tmp_path, scheduler):
    out = tmp_path / "water.h5"
    settings = LabelSettings(xc="hf", basis="sto-3g", max_cycle=1, conv_tol=1e-14)
    console = quiet()
    report = generate(preset_jobs("water", 1, seed=0), out, settings, outcomes=on_cluster(scheduler, console),
                      progress=False, console=console)
    assert report.computed == [] and report.failed[0][0] == "water_000000"
    entry = json.loads(failed_log_path(out).read_text().splitlines()[0])
    assert entry["key"] == "water_000000" and "did not converge" in entry["reason"]
    assert "water_000000 skipped" in console.file.getvalue()


def test_cli_generate_on_a_local_cluster_then_resume_on_a_scheduler(tmp_path, capsys, scheduler):
    out = str(tmp_path / "water.h5")
    argv = ["data", "generate", "--preset", "water", "--count", "2", "--xc", "hf", "--basis", "sto-3g",
            "--out", out, "--no-progress"]
    status, stdout, err = run_cli(capsys, *argv, "--scheduler", "local:1")
    assert status == 0 and "computed 2, already stored 0, failed 0" in stdout
    assert "local Dask cluster of 1 worker process(es)" in err
    status, stdout, err = run_cli(capsys, *argv, "--scheduler", scheduler)
    assert status == 0 and "computed 0, already stored 2" in stdout
    assert "labelling on" not in err  # nothing to label: no cluster is contacted
    with StoreReader(out) as store:
        assert "--scheduler local:1" in store.header.provenance["command_line"]
        assert "--workers" not in store.header.provenance["command_line"]
    status, _, err = run_cli(capsys, *argv, "--scheduler", "local:1", "--workers", "2")
    assert status == 2 and "not allowed with argument" in err


def test_unreachable_scheduler_is_a_user_error(tmp_path):
    import socket

    import dask

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{free.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(HamkitError, match=r"cannot reach the Dask scheduler tcp://.*is the scheduler running"):
        generate(preset_jobs("water", 1, seed=0), tmp_path / "w.h5", HF_STO3G, outcomes=on_cluster(address),
                 progress=False, console=quiet())


# --------------------------------------------------------------------- options
def test_scheduler_text():
    assert parse_scheduler("tcp://10.0.0.1:8786") == DaskTarget(address="tcp://10.0.0.1:8786")
    assert parse_scheduler("local:3") == DaskTarget(local_workers=3)
    assert parse_scheduler("local").local_workers >= 1
    for bad in ("local:0", "local:two", " "):
        with pytest.raises(HamkitError, match="--scheduler"):
            parse_scheduler(bad)


def test_bad_cluster_config_exits_2_naming_file_and_key(tmp_path, capsys):
    config = tmp_path / "cluster.yaml"
    config.write_text("kind: slurm\njobs: 0\ncores: 8\nmemory: 16\nwalltime: 1:00:00\nqueeu: normal\n")
    status, _, err = run_cli(capsys, "data", "generate", "--preset", "water", "--out", str(tmp_path / "w.h5"),
                             "--cluster", str(config))
    assert status == 2 and "invalid --cluster config (4 problems)" in err
    assert f"{config}:2: jobs: Input should be greater than or equal to 1" in err
    assert f"{config}:4: memory: '16' is not an amount with a unit" in err
    assert f"{config}:5: walltime: YAML read the walltime as the number 3600" in err and "quote it" in err
    assert f"{config}:6: queeu: unknown" in err and "'queue'" in err
    assert not (tmp_path / "w.h5").exists()
    status, _, err = run_cli(capsys, "data", "generate", "--preset", "water", "--out", str(tmp_path / "w.h5"),
                             "--cluster", str(tmp_path / "missing.yaml"))
    assert status == 2 and "missing.yaml: file not found" in err


def test_cluster_without_a_batch_system_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    config = tmp_path / "cluster.yaml"
    config.write_text("kind: slurm\njobs: 1\ncores: 2\nmemory: 4GB\n")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    status, _, err = run_cli(capsys, "data", "generate", "--preset", "water", "--out", str(tmp_path / "w.h5"),
                             "--cluster", str(config))
    assert status == 2 and "--cluster slurm: 'sbatch' is not on this machine's PATH" in err
    assert not (tmp_path / "w.h5").exists()


def test_cluster_config_makes_a_job_script(tmp_path):
    jobqueue = pytest.importorskip("dask_jobqueue")
    config = tmp_path / "cluster.yaml"
    config.write_text('kind: pbs\njobs: 2\ncores: 4\nmemory: 8GB\nwalltime: "02:00:00"\nqueue: short\n'
                      "account: 12345\njob_script_prologue: [source venv/bin/activate]\n")
    options = load_cluster_config(config).cluster_options()
    assert options["processes"] == 4 and options["account"] == "12345"
    script = jobqueue.pbs.PBSJob(scheduler="tcp://127.0.0.1:8786", name="w", **options).job_script()
    for line in ("#PBS -q short", "#PBS -A 12345", "#PBS -l walltime=02:00:00", "source venv/bin/activate",
                 "--nworkers 4", "--nthreads 1"):
        assert line in script


def test_missing_dask_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(HamkitError, match=r'pip install "hamkit\[cluster\]"'):
        require_distributed()
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(HamkitError, match="pip install dask-jobqueue"):
        require_jobqueue()
