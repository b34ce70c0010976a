"""Readers can be handed to data-loader workers: they pickle, and re-open in a child process."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pytest

from hamkit_plugins.deeph import DeepHConfig, DeepHDataset
from hamkit_plugins.md17 import Md17Config, Md17Dataset
from hamkit_plugins.qh9 import Qh9Config, Qh9Dataset

from tests.formats.test_deeph import write_published_folder
from tests.formats.test_md17 import write_md17
from tests.formats.test_qh9 import qh9_rows, write_lmdb, write_sqlite


def _first_hamiltonian(dataset) -> np.ndarray:
    return dataset[0].hamiltonian


@pytest.fixture
def datasets(tmp_path, references, basis):
    write_published_folder(tmp_path / "deeph" / "1", references[0], basis)
    rows = qh9_rows(references[:1], dynamic=False)
    return [
        Qh9Dataset(Qh9Config(path=str(write_sqlite(tmp_path / "q.db", rows, dynamic=False)))),
        Qh9Dataset(Qh9Config(path=str(write_lmdb(tmp_path / "q.lmdb", rows)))),
        Md17Dataset(Md17Config(path=str(write_md17(tmp_path / "m.db", references[:1], basis)))),
        DeepHDataset(DeepHConfig(path=str(tmp_path / "deeph"))),
    ]


def test_readers_pickle_and_work_in_a_forked_child(datasets, references):
    context = multiprocessing.get_context("fork")
    for dataset in datasets:
        expected = dataset[0].hamiltonian  # opened in the parent first
        copy = pickle.loads(pickle.dumps(dataset))
        np.testing.assert_array_equal(copy[0].hamiltonian, expected)
        with context.Pool(1) as pool:
            (child,) = pool.map(_first_hamiltonian, [dataset])
        np.testing.assert_array_equal(child, expected)
        np.testing.assert_allclose(expected, references[0].hamiltonian, rtol=0, atol=1e-10)
