"""The training thread count: the recipe wins, then OMP_NUM_THREADS, then size and idle cores."""

from __future__ import annotations

import torch

from hamkit.engine import threads
from hamkit.engine.threads import SMALL_STRUCTURE_ATOMS, apply_threads, choose_threads


def test_the_recipe_value_wins():
    choice = choose_threads(3, mean_atoms=500, environ={"OMP_NUM_THREADS": "8"})
    assert choice.threads == 3 and "train.threads" in choice.describe()


def test_omp_num_threads_is_respected_when_the_recipe_is_silent():
    assert choose_threads(None, mean_atoms=3, environ={"OMP_NUM_THREADS": "2"}).threads == 2
    assert choose_threads(None, mean_atoms=3, environ={"OMP_NUM_THREADS": "junk"}).threads == 1


def test_small_structures_get_one_thread():
    choice = choose_threads(None, mean_atoms=SMALL_STRUCTURE_ATOMS, environ={})
    assert choice.threads == 1 and "small structures" in choice.reason


def test_large_structures_get_the_idle_cores(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.2, 0.0, 0.0))
    assert choose_threads(None, mean_atoms=200, environ={}).threads == 5
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (30.0, 0.0, 0.0))
    assert choose_threads(None, mean_atoms=200, environ={}).threads == 1  # a saturated machine: one


def test_apply_sets_torch_threads():
    before = torch.get_num_threads()
    try:
        apply_threads(choose_threads(1, 0, {}))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
