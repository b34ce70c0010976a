"""Streaming training data: lazy graphs, bounded statistics, structure-only checks, workers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hamkit.bench.synthetic_store import (
    MIN_SEPARATION,
    synthetic_header,
    synthetic_record,
    write_synthetic_store,
)
from hamkit.cli.main import main
from hamkit.data.basis import OrbitalBasis
from hamkit.data.store import StoreReader, StoreWriter
from hamkit.data.structure import HamiltonianRecord, Structure
from hamkit.engine import prepare
from hamkit.engine.data_order import batch_indices
from hamkit.engine.loaders import BatchPlan, chunk_loader
from hamkit.engine.prepare import LazyGraphs, RecordGraphs, statistics_sample
from hamkit.errors import HamkitError
from hamkit.recipe import load_recipe

from tests.engine.test_train_end_to_end import TINY

N_STRUCTURES = 200
MODEL = [setting for setting in TINY if setting.startswith("model.")]
BASIS = OrbitalBasis.from_shells({1: [0], 6: [0, 0, 1], 7: [0, 0, 1], 8: [0, 0, 1]}, "sto-3g")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A synthetic store of 200 small molecules (sto-3g, random labels)."""
    return write_synthetic_store(tmp_path_factory.mktemp("synthetic") / "store.h5", N_STRUCTURES, basis=BASIS)


def settings(store, *extra):
    return [f"data.dataset.path={store}", *MODEL, "train.steps=3", "train.batch_size=4", "train.dtype=float64",
            "train.log_every=1", "train.device=cpu", "train.eval_every=2", *extra]


def train_losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(row["kind"], row.get("loss", row.get("val_loss"))) for row in rows]


# --- the synthetic store -------------------------------------------------------------------

def test_synthetic_records_pass_the_store_checks_and_are_sane(store):
    with StoreReader(store) as reader:
        assert len(reader) == N_STRUCTURES
        for record in reader:  # every record passes the reader's checks
            positions = record.structure.positions
            distances = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
            assert distances[np.triu_indices(len(positions), 1)].min() >= MIN_SEPARATION
            assert 3 <= record.structure.n_atoms <= 9 and record.structure.numbers.sum() % 2 == 0
            assert np.linalg.eigvalsh(record.overlap).min() > 0


def test_an_interrupted_synthetic_store_is_completed_with_the_same_records(store, tmp_path):
    path = write_synthetic_store(tmp_path / "part.h5", 30, basis=BASIS)
    write_synthetic_store(path, 40, basis=BASIS)
    with StoreReader(path) as part, StoreReader(store) as whole:
        assert part.keys == whole.keys[:40]
        for index in (0, 29, 30, 39):
            assert np.array_equal(part[index].hamiltonian, whole[index].hamiltonian)
    with pytest.raises(HamkitError, match="at least 1 structure"):
        write_synthetic_store(tmp_path / "none.h5", 0)


# --- structure-only reads and checks -------------------------------------------------------

def test_store_structure_equals_the_structure_of_the_record(store):
    with StoreReader(store) as reader:
        for index in (0, 57, -1):
            full = reader[index].structure
            for key in (index, reader.key_at(index)):
                light = reader.structure(key)
                assert np.array_equal(light.numbers, full.numbers)
                assert np.array_equal(light.positions, full.positions) and light.charge == full.charge
        with pytest.raises(IndexError):
            reader.structure(N_STRUCTURES)


def test_prepare_reads_no_matrices_and_names_a_bad_record(store, tmp_path, quickstart_recipe, monkeypatch):
    def refuse(self, key):
        raise AssertionError("prepare_data read a whole record")

    with monkeypatch.context() as patch:
        patch.setattr(StoreReader, "get", refuse)
        data = prepare.prepare_data(load_recipe(quickstart_recipe, settings(store)))
    assert len(data.sizes) == N_STRUCTURES and not data.streaming
    with StoreReader(store) as reader:
        assert data.sizes.tolist() == [reader.structure(i).n_atoms for i in range(N_STRUCTURES)]

    bad = tmp_path / "bad.h5"
    with StoreWriter(bad, synthetic_header(BASIS, 0)) as writer:
        writer.write(synthetic_record(0, 0, BASIS))
        record = synthetic_record(0, 1, BASIS)
        positions = record.structure.positions.copy()
        positions[2] = positions[1] + 0.05
        writer.write(HamiltonianRecord(Structure(record.structure.numbers, positions), record.hamiltonian,
                                       record.overlap, "close"))
    with pytest.raises(HamkitError, match=r"bad.h5: record 'close' \(index 1\): atom 2 .* and atom 3"):
        prepare.prepare_data(load_recipe(quickstart_recipe, settings(bad)))


def test_onsite_statistics_use_a_bounded_seeded_sample():
    small = np.array([5, 3, 9])
    assert statistics_sample(small, seed=0).tolist() == [5, 3, 9]  # all of a small split, in order
    split = np.random.default_rng(1).permutation(10_000)
    sample = statistics_sample(split, seed=0, limit=100)
    assert len(sample) == len(set(sample.tolist())) == 100 and set(sample.tolist()) <= set(split.tolist())
    assert np.array_equal(sample, statistics_sample(split, seed=0, limit=100))
    assert not np.array_equal(sample, statistics_sample(split, seed=1, limit=100))


def test_the_stream_choice(quickstart_recipe, monkeypatch):
    def streams(*overrides, n=50):
        return prepare.choose_streaming(load_recipe(quickstart_recipe, list(overrides)), n)

    assert not streams() and streams("train.num_workers=2") and streams("data.stream=true")
    assert not streams("data.stream=false", "train.num_workers=2")
    assert streams(n=prepare.STREAM_AUTO_STRUCTURES + 1) and not streams("data.stream=false", n=10**6)
    records = [HamiltonianRecord(Structure([8, 1, 1], [[0, 0, 0], [0, 0.76, 0.59], [0, -0.76, 0.59]]),
                                 np.zeros((24, 24)), key=f"w{i}") for i in range(5)]
    monkeypatch.setattr(prepare, "open_dataset", lambda recipe: records)
    monkeypatch.setattr(prepare, "STREAM_AUTO_STRUCTURES", 4)
    [warning] = [text for text in prepare.prepare_data(load_recipe(quickstart_recipe)).warnings
                 if "on demand" in text]
    assert "5 structures are more than 4" in warning and "set train.num_workers" in warning


# --- loaders --------------------------------------------------------------------------------

def test_batch_plan_and_chunks_match_the_in_process_order(store, quickstart_recipe):
    plan = BatchPlan(lambda number: batch_indices(number, 37, 4, 3), 5, 25)
    assert list(plan) == [batch_indices(number, 37, 4, 3).tolist() for number in range(5, 25)] and len(plan) == 20
    data = prepare.prepare_data(load_recipe(quickstart_recipe, settings(store)))
    graphs = LazyGraphs(data.dataset, range(10), None)
    pairs = RecordGraphs(data.dataset, range(10), graphs)
    [in_process, workers] = [list(chunk_loader(pairs, 4, count, torch.device("cpu")))
                             for count in (0, 2)]
    assert [len(chunk) for chunk in workers] == [4, 4, 2]
    for one, other in zip(sum(in_process, []), sum(workers, [])):
        assert one[0].key == other[0].key and np.array_equal(one[1].hamiltonian, other[1].hamiltonian)
    assert [graph.pos.tolist() for graph in graphs[2:4]] == [graphs[2].pos.tolist(), graphs[3].pos.tolist()]


# --- training -------------------------------------------------------------------------------

def test_streaming_trains_exactly_as_in_memory_without_building_graph_lists(store, tmp_path, quickstart_recipe,
                                                                            monkeypatch):
    from hamkit.engine.run import run_training

    memory = run_training(load_recipe(quickstart_recipe, settings(store, "data.stream=false")), tmp_path / "memory",
                          show_progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("a streaming run built a whole list of graphs")

    monkeypatch.setattr(prepare, "make_graphs", refuse)
    runs = {}
    for name, extra in (("stream", ["data.stream=true"]), ("workers", ["train.num_workers=2"])):
        runs[name] = run_training(load_recipe(quickstart_recipe, settings(store, *extra)), tmp_path / name,
                                  show_progress=False)
        assert train_losses(tmp_path / name) == train_losses(tmp_path / "memory")
        assert runs[name].metrics == memory.metrics
    assert len(train_losses(tmp_path / "memory")) == 5  # 3 steps, 2 validations
    assert len(memory.metrics["h_mae"]["per_structure"]) == 20


def test_hamkit_train_with_two_workers_on_a_store(store, tmp_path, quickstart_recipe, capsys):
    out = tmp_path / "run"
    argv = ["train", str(quickstart_recipe), "--out", str(out)]
    for assignment in settings(store, "train.num_workers=2", "train.dtype=float32"):
        argv += ["--set", assignment]
    assert main(argv) == 0
    assert "test metrics (20 structures)" in capsys.readouterr().out
    metrics = json.loads((out / "test_metrics.json").read_text())
    assert metrics["step"] == 3 and np.isfinite(metrics["test"]["h_mae"]["mean"])
    assert (out / "plots" / "orbital_energies.png").exists()
